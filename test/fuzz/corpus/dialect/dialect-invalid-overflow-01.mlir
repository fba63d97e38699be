func.func @heads_overflow(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x4xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  %0 = llm.attention %q, %k, %k, %p heads 4611686018427387920 kv_heads 1 head_dim 4 : tensor<?x?x64xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
