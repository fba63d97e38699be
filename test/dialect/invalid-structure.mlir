// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Verifiers of llm.weight, llm.param, llm.decoder_layer and llm.yield.

//===----------------------------------------------------------------------===//
// llm.weight
//===----------------------------------------------------------------------===//

// expected-error@+1 {{'llm.weight' op weight w must have a static shape, got 'tensor<?x4096xbf16>'}}
llm.weight @w : tensor<?x4096xbf16>

// -----

// expected-error@+1 {{'llm.weight' op weight q has rank 2 but its slice's full shape has 1 dims}}
llm.weight @q : tensor<1024x4096xbf16> slice <dim = 0, size = 1024, axis = "tp", offsets = [0, 1024], full = [2048]>

// -----

// The sliced dim must be the slice's size.
// expected-error@+1 {{'llm.weight' op weight q dim 0 is 4096 but its slice says 1024}}
llm.weight @q : tensor<4096x4096xbf16> slice <dim = 0, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072], full = [4096, 4096]>

// -----

// The other dims must be the full shape's.
// expected-error@+1 {{'llm.weight' op weight o dim 0 is 2048 but its slice says 4096}}
llm.weight @o : tensor<2048x1024xbf16> slice <dim = 1, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072], full = [4096, 4096]>

// -----

// Weights are module-level declarations.
func.func @nested() {
  // expected-error@+1 {{'llm.weight' op expects parent op 'builtin.module'}}
  llm.weight @w : tensor<4xf32>
  return
}

// -----

// expected-note@+1 {{see existing symbol definition here}}
llm.weight @w : tensor<4xf32>
// expected-error@+1 {{redefinition of symbol named 'w'}}
llm.weight @w : tensor<8xf32>

// -----

//===----------------------------------------------------------------------===//
// llm.param
//===----------------------------------------------------------------------===//

func.func @undeclared() -> tensor<4xf32> {
  // expected-error@+1 {{'llm.param' op 'model.norm.weight' does not name an llm.weight}}
  %0 = llm.param @model.norm.weight : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A symbol that is not a weight does not do.
func.func @not_a_weight() -> tensor<4xf32> {
  // expected-error@+1 {{'llm.param' op 'not_a_weight' does not name an llm.weight}}
  %0 = llm.param @not_a_weight : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

llm.weight @model.norm.weight : tensor<4096xbf16>
func.func @wrong_shape() -> tensor<4095xbf16> {
  // expected-error@+1 {{'llm.param' op type 'tensor<4095xbf16>' does not match weight 'model.norm.weight' declared as 'tensor<4096xbf16>'}}
  %0 = llm.param @model.norm.weight : tensor<4095xbf16>
  return %0 : tensor<4095xbf16>
}

// -----

llm.weight @model.norm.weight : tensor<4096xbf16>
func.func @wrong_dtype() -> tensor<4096xf32> {
  // expected-error@+1 {{'llm.param' op type 'tensor<4096xf32>' does not match weight 'model.norm.weight' declared as 'tensor<4096xbf16>'}}
  %0 = llm.param @model.norm.weight : tensor<4096xf32>
  return %0 : tensor<4096xf32>
}

// -----

//===----------------------------------------------------------------------===//
// llm.decoder_layer / llm.yield
//===----------------------------------------------------------------------===//

// A negative layer index is a known bug (accepted today): see
// invalid-known-bugs-unsigned.mlir.

func.func @missing_argument(%h: tensor<?x?x8xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{'llm.decoder_layer' op layer 2 body has 1 arguments for 2 inputs}}
  %0 = llm.decoder_layer 2 (%h, %p) : (tensor<?x?x8xbf16>, tensor<?x?xi64>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

func.func @argument_type(%h: tensor<?x?x8xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{'llm.decoder_layer' op layer 4 body argument 1 has type 'tensor<?x?xi32>' but input has type 'tensor<?x?xi64>'}}
  %0 = llm.decoder_layer 4 (%h, %p) : (tensor<?x?x8xbf16>, tensor<?x?xi64>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>, %q: tensor<?x?xi32>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

func.func @yield_type(%h: tensor<?x?x8xbf16>, %g: tensor<?x?x8xf32>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{'llm.decoder_layer' op layer 7 yields 1 values whose types do not match its results}}
  %0 = llm.decoder_layer 7 (%h, %g) : (tensor<?x?x8xbf16>, tensor<?x?x8xf32>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>, %y: tensor<?x?x8xf32>):
    llm.yield %y : tensor<?x?x8xf32>
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

func.func @yield_count(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{'llm.decoder_layer' op layer 0 yields 2 values whose types do not match its results}}
  %0 = llm.decoder_layer 0 (%h) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x, %x : tensor<?x?x8xbf16>, tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

// The implicit empty yield of a layer with a result yields nothing.
func.func @implicit_yield(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{'llm.decoder_layer' op layer 3 yields 0 values whose types do not match its results}}
  %0 = llm.decoder_layer 3 (%h) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

// The body is isolated from above: values reach it only as inputs.
func.func @not_isolated(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  // expected-note@+1 {{required by region isolation constraints}}
  %0 = llm.decoder_layer 0 () : () -> tensor<?x?x8xbf16> {
    // expected-error@+1 {{'llm.yield' op using value defined outside the region}}
    llm.yield %h : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

// A generic-form layer needs exactly one block ...
func.func @no_block() {
  // expected-error@+1 {{'llm.decoder_layer' op region #0 ('body') failed to verify constraint: region with 1 blocks}}
  "llm.decoder_layer"() <{index = 0 : i64}> ({
  }) : () -> ()
  return
}

// -----

// ... ending in llm.yield.
func.func @no_terminator() {
  // expected-error@+1 {{'llm.decoder_layer' op expects a non-empty block}}
  "llm.decoder_layer"() <{index = 0 : i64}> ({
  ^bb0:
  }) : () -> ()
  return
}

// -----

func.func @yield_outside_layer() {
  // expected-error@+1 {{'llm.yield' op expects parent op 'llm.decoder_layer'}}
  llm.yield
}
