module {
  func.func @forward(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>, %x: tensor<?x?x64xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>, %g: tensor<18x64xbf16>, %u: tensor<18x64xbf16>, %d: tensor<64x18xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    %e = llm.experts %x, %rw, %ri experts 2 gate(%g, %g) up(%u, %u) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<18x64xbf16>, tensor<18x64xbf16>) up(tensor<18x64xbf16>, tensor<18x64xbf16>) down(tensor<64x18xbf16>, tensor<64x18xbf16>) -> tensor<?x?x64xbf16>
    return %a, %e : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
  }
}
