// RUN: llm-opt %s | llm-opt | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// MoE router, routed experts and the Qwen2-MoE shared expert print in a form
// that parses back to the same IR.

// The router's two results print with their ODS names.
// CHECK-LABEL: func.func @moe_router(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[G:[^:]+]]: tensor<8x64xbf16>)
// CHECK:         %[[W0:[^,]+]], %[[I0:[^ ]+]] = llm.moe_router %[[X]], %[[G]] experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
// CHECK-NEXT:    %[[W1:[^,]+]], %[[I1:[^ ]+]] = llm.moe_router %[[X]], %[[G]] experts 8 top_k 8 renormalize : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x8xf32>, tensor<?x?x8xi64>)
// CHECK-NEXT:    return %[[W0]], %[[I0]], %[[W1]], %[[I1]]
func.func @moe_router(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>, tensor<?x?x8xf32>, tensor<?x?x8xi64>) {
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  %w2, %i2 = llm.moe_router %x, %gate experts 8 top_k 8 renormalize : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x8xf32>, tensor<?x?x8xi64>)
  return %w, %i, %w2, %i2 : tensor<?x?x2xf32>, tensor<?x?x2xi64>, tensor<?x?x8xf32>, tensor<?x?x8xi64>
}

// All experts held: no ids.
// CHECK-LABEL: func.func @experts_all(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[RW:[^:]+]]: tensor<?x?x2xf32>, %[[RI:[^:]+]]: tensor<?x?x2xi64>, %[[G0:[^:]+]]: tensor<32x64xbf16>, %[[G1:[^:]+]]: tensor<32x64xbf16>, %[[U0:[^:]+]]: tensor<32x64xbf16>, %[[U1:[^:]+]]: tensor<32x64xbf16>, %[[D0:[^:]+]]: tensor<64x32xbf16>, %[[D1:[^:]+]]: tensor<64x32xbf16>)
// CHECK:         %[[E:.+]] = llm.experts %[[X]], %[[RW]], %[[RI]] experts 2 gate(%[[G0]], %[[G1]]) up(%[[U0]], %[[U1]]) down(%[[D0]], %[[D1]]) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[E]]
func.func @experts_all(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>,
                       %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>,
                       %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>,
                       %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// An expert-parallel rank holding experts 1 and 6 of 8 lists their ids; a
// rank holding one expert lists one id.
// CHECK-LABEL: func.func @experts_ids(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[RW:[^:]+]]: tensor<?x?x2xf32>, %[[RI:[^:]+]]: tensor<?x?x2xi64>, %[[G:[^:]+]]: tensor<32x64xbf16>, %[[D:[^:]+]]: tensor<64x32xbf16>)
// CHECK:         %[[E0:.+]] = llm.experts %[[X]], %[[RW]], %[[RI]] experts 8 ids [1, 6] gate(%[[G]], %[[G]]) up(%[[G]], %[[G]]) down(%[[D]], %[[D]]) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[E1:.+]] = llm.experts %[[X]], %[[RW]], %[[RI]] experts 8 ids [7] gate(%[[G]]) up(%[[G]]) down(%[[D]]) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>) up(tensor<32x64xbf16>) down(tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[E0]], %[[E1]]
func.func @experts_ids(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>,
                       %g: tensor<32x64xbf16>, %d: tensor<64x32xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.experts %x, %rw, %ri experts 8 ids [1, 6] gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  %1 = llm.experts %x, %rw, %ri experts 8 ids [7] gate(%g) up(%g) down(%d) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>) up(tensor<32x64xbf16>) down(tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}

// Router feeding experts, as the importer emits it.
// CHECK-LABEL: func.func @router_to_experts(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[GATE:[^:]+]]: tensor<2x64xbf16>, %[[G:[^:]+]]: tensor<32x64xbf16>, %[[D:[^:]+]]: tensor<64x32xbf16>)
// CHECK:         %[[W:[^,]+]], %[[I:[^ ]+]] = llm.moe_router %[[X]], %[[GATE]] experts 2 top_k 1 renormalize
// CHECK-NEXT:    %[[E:.+]] = llm.experts %[[X]], %[[W]], %[[I]] experts 2 gate(
// CHECK-NEXT:    return %[[E]]
func.func @router_to_experts(%x: tensor<?x?x64xbf16>, %gate: tensor<2x64xbf16>, %g: tensor<32x64xbf16>, %d: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  %w, %i = llm.moe_router %x, %gate experts 2 top_k 1 renormalize : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
  %0 = llm.experts %x, %w, %i experts 2 gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// CHECK-LABEL: func.func @shared_expert(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[G:[^:]+]]: tensor<128x64xbf16>, %[[U:[^:]+]]: tensor<128x64xbf16>, %[[D:[^:]+]]: tensor<64x128xbf16>, %[[EG:[^:]+]]: tensor<1x64xbf16>)
// CHECK:         %[[S:.+]] = llm.shared_expert %[[X]], %[[G]], %[[U]], %[[D]], %[[EG]] : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[S]]
func.func @shared_expert(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
