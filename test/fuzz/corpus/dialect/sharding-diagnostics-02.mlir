module {
  func.func @forward(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>, %gate: tensor<?x?x18xbf16>, %up: tensor<?x?x18xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x18xbf16>) {
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    %s = llm.swiglu %gate, %up : tensor<?x?x18xbf16>
    return %a, %s : tensor<?x?x64xbf16>, tensor<?x?x18xbf16>
  }
}
