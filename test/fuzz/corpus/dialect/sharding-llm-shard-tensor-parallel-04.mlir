module @moe attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @router : tensor<2x64xbf16>
  llm.weight @e0.gate : tensor<32x64xbf16>
  llm.weight @e0.up : tensor<32x64xbf16>
  llm.weight @e0.down : tensor<64x32xbf16>
  llm.weight @e1.gate : tensor<32x64xbf16>
  llm.weight @e1.up : tensor<32x64xbf16>
  llm.weight @e1.down : tensor<64x32xbf16>
  llm.weight @shared.gate : tensor<64x64xbf16>
  llm.weight @shared.up : tensor<64x64xbf16>
  llm.weight @shared.down : tensor<64x64xbf16>
  llm.weight @shared.expert_gate : tensor<1x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %wr = llm.param @router : tensor<2x64xbf16>
    %w, %i = llm.moe_router %x, %wr experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
    %g0 = llm.param @e0.gate : tensor<32x64xbf16>
    %u0 = llm.param @e0.up : tensor<32x64xbf16>
    %d0 = llm.param @e0.down : tensor<64x32xbf16>
    %g1 = llm.param @e1.gate : tensor<32x64xbf16>
    %u1 = llm.param @e1.up : tensor<32x64xbf16>
    %d1 = llm.param @e1.down : tensor<64x32xbf16>
    %e = llm.experts %x, %w, %i experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
    %sg = llm.param @shared.gate : tensor<64x64xbf16>
    %su = llm.param @shared.up : tensor<64x64xbf16>
    %sd = llm.param @shared.down : tensor<64x64xbf16>
    %seg = llm.param @shared.expert_gate : tensor<1x64xbf16>
    %s = llm.shared_expert %x, %sg, %su, %sd, %seg : (tensor<?x?x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
    %m = llm.add %e, %s : tensor<?x?x64xbf16>
    %r = llm.add %x, %m : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}
