// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Verifiers of llm.moe_router, llm.experts and llm.shared_expert.

func.func @router_experts_zero(%x: tensor<?x?x64xbf16>, %gate: tensor<0x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op num_experts must be >= 1, got 0}}
  %w, %i = llm.moe_router %x, %gate experts 0 top_k 2 : (tensor<?x?x64xbf16>, tensor<0x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_top_k_zero(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op top_k must be >= 1, got 0}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 0 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x0xf32>, tensor<?x?x0xi64>)
  return
}

// -----

func.func @router_top_k_above_experts(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op top_k 9 exceeds num_experts 8}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 9 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x9xf32>, tensor<?x?x9xi64>)
  return
}

// -----

func.func @router_input_rank(%x: tensor<?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op input must have rank 3, got 'tensor<?x64xbf16>'}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

// The gate has one row per expert.
func.func @router_gate_experts(%x: tensor<?x?x64xbf16>, %gate: tensor<4x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op router gate must be 8x64, got 'tensor<4x64xbf16>'}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_gate_hidden(%x: tensor<?x?x64xbf16>, %gate: tensor<8x32xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op router gate must be 8x64, got 'tensor<8x32xbf16>'}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x32xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_gate_rank(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64x1xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op router gate must be 8x64, got 'tensor<8x64x1xbf16>'}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64x1xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_weights_rank(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op routing weights must have rank 3, got 'tensor<?x2xf32>'}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_weights_batch(%x: tensor<4x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op routing weights dim 0 (5) does not match input dim 0 (4)}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<4x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<5x?x2xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_weights_top_k(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op routing weights last dim 3 must equal top_k 2}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x3xf32>, tensor<?x?x2xi64>)
  return
}

// -----

func.func @router_indices_rank(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op routing indices must have rank 3, got 'tensor<?x?x2x1xi64>'}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2x1xi64>)
  return
}

// -----

func.func @router_indices_seq(%x: tensor<?x7x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op routing indices dim 1 (1) does not match input dim 1 (7)}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x7x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x1x2xi64>)
  return
}

// -----

func.func @router_indices_top_k(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  // expected-error@+1 {{'llm.moe_router' op routing indices last dim 8 must equal top_k 2}}
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x8xi64>)
  return
}

// -----

func.func @experts_zero(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op num_experts must be >= 1, got 0}}
  %0 = llm.experts %x, %rw, %ri experts 0 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_input_rank(%x: tensor<?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op input must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}

// -----

func.func @experts_up_count(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expects as many up (1) and down (2) weights as gate weights (2)}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_down_count(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>, %d2: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expects as many up (2) and down (3) weights as gate weights (2)}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1, %d2) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// The custom syntax cannot spell empty weight lists; the generic form can.
func.func @experts_none(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op holds no experts}}
  %0 = "llm.experts"(%x, %rw, %ri) <{num_experts = 8 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0>}> : (tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_ids_count(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op lists 3 expert ids for 2 experts}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [0, 1, 2] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_id_range(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expert id 8 is outside [0, 8)}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [6, 8] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_id_negative(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expert id -1 is outside [0, 8)}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [-1, 0] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_ids_order(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expert ids must be strictly increasing, got 5 then 2}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [5, 2] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_ids_duplicate(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expert ids must be strictly increasing, got 3 then 3}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [3, 3] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// A subset of the experts must say which ones it holds.
func.func @experts_missing_ids(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op holds 2 experts of 8 without listing their ids}}
  %0 = llm.experts %x, %rw, %ri experts 8 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_gate_rank(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64x1xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op expert gate weights must be 2-D, got 'tensor<32x64x1xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64x1xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_gate_hidden(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x48xbf16>, %g1: tensor<32x48xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op gate weight of expert 0 must be 32x64, got 'tensor<32x48xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x48xbf16>, tensor<32x48xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// Diagnostics name the global expert id.
func.func @experts_gate_inter(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<16x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op gate weight of expert 5 must be 32x64, got 'tensor<16x64xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [2, 5] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<16x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_up(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<64x32xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op up weight of expert 7 must be 32x64, got 'tensor<64x32xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 8 ids [3, 7] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<64x32xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// down is [hidden, intermediate].
func.func @experts_down(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<32x64xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op down weight of expert 0 must be 64x32, got 'tensor<32x64xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<32x64xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_weights_rank(%x: tensor<?x?x64xbf16>, %rw: tensor<?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op routing weights must have rank 3, got 'tensor<?x2xf32>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_weights_seq(%x: tensor<?x3x64xbf16>, %rw: tensor<?x4x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x3x64xbf16> {
  // expected-error@+1 {{'llm.experts' op routing weights dim 1 (4) does not match input dim 1 (3)}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x3x64xbf16>, tensor<?x4x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x3x64xbf16>
  return %0 : tensor<?x3x64xbf16>
}

// -----

func.func @experts_indices_rank(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op routing indices must have rank 3, got 'tensor<?x?xi64>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// Weights and indices agree on top_k.
func.func @experts_indices_top_k(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x4xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.experts' op routing indices last dim 4 must equal top_k 2}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x4xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @experts_result(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xf32> {
  // expected-error@+1 {{'llm.experts' op result type 'tensor<?x?x64xf32>' must equal input type 'tensor<?x?x64xbf16>'}}
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

func.func @shared_input_rank(%x: tensor<?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op input must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}

// -----

func.func @shared_gate_rank(%x: tensor<?x?x64xbf16>, %g: tensor<128xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op gate weight must have rank 2, got 'tensor<128xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @shared_gate_hidden(%x: tensor<?x?x64xbf16>, %g: tensor<128x32xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op gate weight must be 128x64, got 'tensor<128x32xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x32xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @shared_up(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<64x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op up weight must be 128x64, got 'tensor<64x64xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @shared_down(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<128x64xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op down weight must be 64x128, got 'tensor<128x64xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// The sigmoid gate is [1, hidden].
func.func @shared_expert_gate(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op shared expert gate must be 1x64, got 'tensor<64xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @shared_expert_gate_rows(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<2x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op shared expert gate must be 1x64, got 'tensor<2x64xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<2x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @shared_result(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x128xbf16> {
  // expected-error@+1 {{'llm.shared_expert' op result type 'tensor<?x?x128xbf16>' must equal input type 'tensor<?x?x64xbf16>'}}
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x128xbf16>
  return %0 : tensor<?x?x128xbf16>
}
