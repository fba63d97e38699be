module {
  func.func @forward(%q: tensor<?x?x96xbf16>, %k: tensor<?x?x48xbf16>, %v: tensor<?x?x48xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x96xbf16> {
    %a = llm.attention %q, %k, %v, %pos heads 12 kv_heads 6 head_dim 8 causal : tensor<?x?x96xbf16>, tensor<?x?x48xbf16>, tensor<?x?x48xbf16>, tensor<?x?xi64> -> tensor<?x?x96xbf16>
    return %a : tensor<?x?x96xbf16>
  }
}
