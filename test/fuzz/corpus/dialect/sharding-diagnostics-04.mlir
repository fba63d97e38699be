module {
  func.func @forward(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>, %x: tensor<?x?x64xbf16>, %g: tensor<18x64xbf16>, %u: tensor<18x64xbf16>, %d: tensor<64x18xbf16>, %eg: tensor<1x64xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    %s = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<18x64xbf16>, tensor<18x64xbf16>, tensor<64x18xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
    return %a, %s : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
  }
}
