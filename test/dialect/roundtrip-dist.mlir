// RUN: llm-opt %s | llm-opt | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// Every dist op, the #dist.plan attribute (every field) and the
// expert-parallel attributes of the llm dialect print and parse back.

// CHECK: module attributes {dist.plan = #dist.plan<axes = ["pp", "ep", "sp"], shape = [2, 2, 2], microbatches = 4, batch_axes = ["ep"], sequence_axis = "sp">}
module attributes {dist.plan = #dist.plan<axes = ["pp", "ep", "sp"], shape = [2, 2, 2], microbatches = 4, batch_axes = ["ep"], sequence_axis = "sp">} {
  // CHECK: shard.grid @grid(shape = 2x2x2){{$}}
  shard.grid @grid(shape = 2x2x2)
  // CHECK: llm.weight @w1 : tensor<4x8xbf16> owner <axis = "ep", coord = 1>
  llm.weight @w1 : tensor<4x8xbf16> owner <axis = "ep", coord = 1>
  // CHECK: llm.weight @w2 : tensor<2x8xbf16> slice <dim = 0, size = 2, axis = "tp", offsets = [0, 2], full = [4, 8]> owner <axis = "ep", coord = 0>
  llm.weight @w2 : tensor<2x8xbf16> slice <dim = 0, size = 2, axis = "tp", offsets = [0, 2], full = [4, 8]> owner <axis = "ep", coord = 0>
  llm.weight @down : tensor<8x4xbf16>

  // CHECK-LABEL: func.func @pipeline
  func.func @pipeline(%ids: tensor<?x?xi64>, %h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
    // CHECK: %[[R:.+]] = dist.pipeline microbatches 4 (%{{.+}}, %{{.+}}) : (tensor<?x?xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
    %r = dist.pipeline microbatches 4 (%ids, %h) : (tensor<?x?xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
    ^bb0(%i: tensor<?x?xi64>, %x: tensor<?x?x8xbf16>):
      // CHECK: dist.stage 0 layers [0, 3) (%{{.+}}) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
      %a = dist.stage 0 layers [0, 3) (%x) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
      ^bb0(%y: tensor<?x?x8xbf16>):
        dist.yield %y : tensor<?x?x8xbf16>
      }
      // CHECK: dist.transfer %{{.+}} on @grid axis 0 from 0 to 1 : tensor<?x?x8xbf16>
      %t = dist.transfer %a on @grid axis 0 from 0 to 1 : tensor<?x?x8xbf16>
      // CHECK: dist.stage 1 layers [3, 6)
      %b = dist.stage 1 layers [3, 6) (%t) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
      ^bb0(%y: tensor<?x?x8xbf16>):
        dist.yield %y : tensor<?x?x8xbf16>
      }
      // CHECK: dist.yield %{{.+}} : tensor<?x?x8xbf16>
      dist.yield %b : tensor<?x?x8xbf16>
    }
    return %r : tensor<?x?x8xbf16>
  }

  // CHECK-LABEL: func.func @experts
  func.func @experts(%x: tensor<?x?x8xbf16>, %w: tensor<?x?x1xf32>, %i: tensor<?x?x1xi64>) -> tensor<?x?x8xbf16> {
    // CHECK: %[[T:[^,]+]], %[[TW:[^,]+]], %[[TI:[^,]+]], %[[RT:[^ ]+]] = dist.expert_dispatch %{{.+}}, %{{.+}}, %{{.+}} on @grid axis 1 owners [0, 1] : (tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
    %t, %tw, %ti, %route = dist.expert_dispatch %x, %w, %i on @grid axis 1 owners [0, 1] : (tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
    %g0 = llm.param @w1 : tensor<4x8xbf16>
    %u0 = llm.param @w1 : tensor<4x8xbf16>
    %g1 = llm.param @w1 : tensor<4x8xbf16>
    %u1 = llm.param @w1 : tensor<4x8xbf16>
    %dd0 = llm.param @down : tensor<8x4xbf16>
    %dd1 = llm.param @down : tensor<8x4xbf16>
    // CHECK: llm.experts %[[T]], %[[TW]], %[[TI]] experts 2 owners("ep") [0, 1] gate(
    %e = llm.experts %t, %tw, %ti experts 2 owners("ep") [0, 1] gate(%g0, %g1) up(%u0, %u1) down(%dd0, %dd1) : tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<4x8xbf16>, tensor<4x8xbf16>) up(tensor<4x8xbf16>, tensor<4x8xbf16>) down(tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<1x?x8xbf16>
    // CHECK: dist.expert_combine %{{.+}}, %[[RT]], %{{.+}} on @grid axis 1 : (tensor<1x?x8xbf16>, tensor<?x3xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16>
    %y = dist.expert_combine %e, %route, %x on @grid axis 1 : (tensor<1x?x8xbf16>, tensor<?x3xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16>
    return %y : tensor<?x?x8xbf16>
  }

  // CHECK-LABEL: func.func @ring
  func.func @ring(%q: tensor<?x?x16xbf16>, %k: tensor<?x?x8xbf16>, %pos: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, bf16>) -> tensor<?x?x16xbf16> {
    // CHECK: dist.ring_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} cache(%{{.+}} : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, bf16>) [1] heads 4 kv_heads 2 head_dim 4 causal window 16 on @grid axis 0 steps 1
    %a = dist.ring_attention %q, %k, %k, %pos cache(%c : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, bf16>) [1] heads 4 kv_heads 2 head_dim 4 causal window 16 on @grid axis 0 steps 1 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
    // CHECK: dist.ring_attention {{.+}} heads 4 kv_heads 2 head_dim 4 on @grid axis 0 steps 1 :
    %b = dist.ring_attention %q, %k, %k, %pos heads 4 kv_heads 2 head_dim 4 on @grid axis 0 steps 1 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
    return %a : tensor<?x?x16xbf16>
  }
}
