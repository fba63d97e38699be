func.func @group(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x24xbf16>, %v: tensor<?x?x24xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 3 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x24xbf16>, tensor<?x?x24xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
