module {
  func.func @forward(%q: tensor<?x?x48xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x48xbf16> {
    %a = llm.attention %q, %k, %v, %pos heads 6 kv_heads 2 head_dim 8 causal : tensor<?x?x48xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x48xbf16>
    return %a : tensor<?x?x48xbf16>
  }
}
