module attributes {dist.plan = #dist.plan<axes = ["pp", "ep"], shape = [2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
  llm.weight @w1 : tensor<4x8xbf16> owner <axis = "ep", coord = 1>
  llm.weight @w2 : tensor<2x8xbf16> slice <dim = 0, size = 2, axis = "tp", offsets = [0, 2], full = [4, 8]> owner <axis = "ep", coord = 0>
  llm.weight @down : tensor<8x4xbf16>
  func.func @pipeline(%ids: tensor<?x?xi64>, %h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
    %r = dist.pipeline microbatches 4 (%ids, %h) : (tensor<?x?xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
    ^bb0(%i: tensor<?x?xi64>, %x: tensor<?x?x8xbf16>):
      %a = dist.stage 0 layers [0, 3) (%x) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
      ^bb0(%y: tensor<?x?x8xbf16>):
        dist.yield %y : tensor<?x?x8xbf16>
      }
      %t = dist.transfer %a on @grid axis 0 from 0 to 1 : tensor<?x?x8xbf16>
      %b = dist.stage 1 layers [3, 6) (%t) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
      ^bb0(%y: tensor<?x?x8xbf16>):
        dist.yield %y : tensor<?x?x8xbf16>
      }
      dist.yield %b : tensor<?x?x8xbf16>
    }
    return %r : tensor<?x?x8xbf16>
  }
  func.func @experts(%x: tensor<?x?x8xbf16>, %w: tensor<?x?x1xf32>, %i: tensor<?x?x1xi64>) -> tensor<?x?x8xbf16> {
    %t, %tw, %ti, %route = dist.expert_dispatch %x, %w, %i on @grid axis 1 owners [0, 1] : (tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
    %g0 = llm.param @w1 : tensor<4x8xbf16>
    %u0 = llm.param @w1 : tensor<4x8xbf16>
    %g1 = llm.param @w1 : tensor<4x8xbf16>
    %u1 = llm.param @w1 : tensor<4x8xbf16>
    %dd0 = llm.param @down : tensor<8x4xbf16>
    %dd1 = llm.param @down : tensor<8x4xbf16>
    %e = llm.experts %t, %tw, %ti experts 2 owners("ep") [0, 1] gate(%g0, %g1) up(%u0, %u1) down(%dd0, %dd1) : tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<4x8xbf16>, tensor<4x8xbf16>) up(tensor<4x8xbf16>, tensor<4x8xbf16>) down(tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<1x?x8xbf16>
    %y = dist.expert_combine %e, %route, %x on @grid axis 1 : (tensor<1x?x8xbf16>, tensor<?x3xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16>
    return %y : tensor<?x?x8xbf16>
  }
  func.func @ring(%q: tensor<?x?x16xbf16>, %k: tensor<?x?x8xbf16>, %pos: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, bf16>) -> tensor<?x?x16xbf16> {
    %a = dist.ring_attention %q, %k, %k, %pos cache(%c : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, bf16>) [1] heads 4 kv_heads 2 head_dim 4 causal window 16 on @grid axis 0 steps 1 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
    %b = dist.ring_attention %q, %k, %k, %pos heads 4 kv_heads 2 head_dim 4 on @grid axis 0 steps 1 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
    return %a : tensor<?x?x16xbf16>
  }
}
