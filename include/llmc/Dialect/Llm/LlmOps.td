//===- LlmOps.td - llm dialect operations ------------------*- tablegen -*-===//
//
// Ops of a decoder-only Transformer. Activations are [batch, seq, features]
// tensors; attention keeps heads flattened into the feature dim and carries
// num_heads / num_kv_heads / head_dim as attributes, so TP sharding only
// changes feature sizes and head counts.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_OPS_TD
#define LLMC_DIALECT_LLM_OPS_TD

include "llmc/Dialect/Llm/LlmBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

class Llm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Llm_Dialect, mnemonic, traits>;

/// Values in the model's float types. FP8 (f8E4M3FN) appears only where an
/// op says so (Llm_MaybeFp8): quantized weights and quantized activations.
def Llm_Activation : RankedTensorOf<[F16, BF16, F32, F64]>;
def Llm_MaybeFp8 : RankedTensorOf<[F16, BF16, F32, F64, F8E4M3FN]>;
/// FP8 scales are fp32: checkpoints may store them as bf16 or f16, which the
/// loader widens exactly.
def Llm_Scale : RankedTensorOf<[F32]>;
def Llm_TokenIds : RankedTensorOf<[AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Llm_WeightOp : Llm_Op<"weight", [Symbol, HasParent<"::mlir::ModuleOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "declares one checkpoint tensor";
  let description = [{
    The symbol name is the safetensors tensor name; the type gives the shape
    the graph uses and the dtype stored in the checkpoint. Data is never
    embedded. After sharding, `slice` says which block of the full tensor a
    rank loads; the type is then the local block's shape.

    An FP8 weight (`f8E4M3FN`, a 2-D [out, in] matrix) names its fp32 scale
    symbol with `scale`: [out, 1] for one scale per output channel, [1] for
    one per tensor. Its value is code * scale. The loader takes codes and
    scales from an FP8 checkpoint, or quantizes a bf16/f16/f32 checkpoint
    tensor (or random weights) while loading, each scale from the absmax of
    a whole row (docs/quantization.md). A per-channel scale is sliced
    exactly like its weight's rows and owned like its weight.

    ```mlir
    llm.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xbf16>
    llm.weight @"model.layers.0.mlp.down_proj.weight" : tensor<4096x14336xf8E4M3FN> scale @"model.layers.0.mlp.down_proj.weight_scale"
    llm.weight @"model.layers.0.mlp.down_proj.weight_scale" : tensor<4096x1xf32>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<AnyRankedTensor>:$type,
                       OptionalAttr<FlatSymbolRefAttr>:$scale,
                       OptionalAttr<Llm_WeightSliceAttr>:$slice,
                       OptionalAttr<Llm_OwnerAttr>:$owner);
  let assemblyFormat = [{
    $sym_name `:` $type (`scale` $scale^)? (`slice` $slice^)?
    (`owner` $owner^)? attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
}

def Llm_ParamOp : Llm_Op<"param", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the value of a declared weight";
  let description = [{
    ```mlir
    %w = llm.param @"model.norm.weight" : tensor<4096xbf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def Llm_DecoderLayerOp : Llm_Op<"decoder_layer", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "one decoder layer, a region isolated from above";
  let description = [{
    Keeps layer boundaries visible to pipeline passes. Operands are the
    hidden state, the positions and (optionally) the KV cache; the body's
    block arguments mirror them and `llm.yield` returns the new hidden state.
    `index` is the layer's index in the original model.

    ```mlir
    %h1 = llm.decoder_layer 0 (%h0, %pos, %cache) : (...) -> tensor<?x?x4096xbf16> {
    ^bb0(%x: tensor<?x?x4096xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<...>):
      ...
      llm.yield %y : tensor<?x?x4096xbf16>
    }
    ```
  }];
  let arguments = (ins I64Attr:$index, Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $index ` ` `(` $inputs `)` attr-dict `:` functional-type($inputs, $results)
    $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "int64_t":$index, "::mlir::TypeRange":$resultTypes,
                   "::mlir::ValueRange":$inputs)>
  ];
}

def Llm_YieldOp : Llm_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"DecoderLayerOp">]> {
  let summary = "returns values from a decoder layer";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* empty */ }]>];
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

def Llm_EmbeddingOp : Llm_Op<"embedding", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    `result[b, s, :] = table[ids[b, s], :]`. A vocab-parallel rank holds rows
    `[vocab_start, vocab_start + rows)`: ids outside give zeros (the
    all-reduce that follows sums the partial lookups). Without
    `vocab_parallel` every id must be in range.
  }];
  let arguments = (ins Llm_TokenIds:$ids, Llm_Activation:$table,
                       UnitAttr:$vocab_parallel);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $ids `,` $table (`vocab_parallel` $vocab_parallel^)? attr-dict `:`
    functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

def Llm_RMSNormOp : Llm_Op<"rms_norm", [Pure]> {
  let summary = "RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) * w";
  let arguments = (ins Llm_Activation:$input, Llm_Activation:$weight,
                       F64Attr:$eps);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight `eps` $eps attr-dict `:`
    functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

def Llm_LinearOp : Llm_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "y = x W^T (+ b), W in Hugging Face [out, in] layout";
  let description = [{
    With an FP8 weight (f8E4M3FN) `scale` gives its fp32 scales ([out, 1]
    per output channel or [1] per tensor); with an FP8 input (from
    `llm.quantize`, W8A8) `input_scale` gives the input's ([..., 1] per
    token or [1] per tensor). Then

      y[.., n] = (sum_k x[.., k] * W[n, k]) * input_scale[..] * scale[n] + b[n]

    with x and W the E4M3 values, the sum accumulated in fp32 and missing
    scales taken as 1. An FP8 input needs an FP8 weight.
  }];
  let arguments = (ins Llm_MaybeFp8:$input, Llm_MaybeFp8:$weight,
                       Optional<Llm_Activation>:$bias,
                       Optional<Llm_Scale>:$weight_scale,
                       Optional<Llm_Scale>:$input_scale);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`scale` $weight_scale^)?
    (`input_scale` $input_scale^)? attr-dict `:`
    functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$weight, "::mlir::Value":$bias), [{
      build($_builder, $_state, result, input, weight, bias,
            ::mlir::Value(), ::mlir::Value());
    }]>
  ];
}

def Llm_BiasAddOp : Llm_Op<"bias_add", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "adds a bias vector along the last dim";
  let description = [{
    Tensor parallelism splits a row-parallel linear into partial sums; its
    bias must be added once, after the all-reduce, which this op does.
  }];
  let arguments = (ins Llm_Activation:$input, Llm_Activation:$bias);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $bias attr-dict `:` type($input) `,` type($bias)
  }];
  let hasVerifier = 1;
}

def Llm_RopeOp : Llm_Op<"rope", [Pure]> {
  let summary = "rotary position embedding on every head of q or k";
  let description = [{
    The feature dim is `heads x head_dim`; each head is rotated in the
    Hugging Face "rotate_half" layout (pairs (i, i + head_dim/2)) by angles
    `position * inv_freq`, `inv_freq` from `rope` (theta and scaling).
  }];
  let arguments = (ins Llm_Activation:$input, Llm_TokenIds:$positions,
                       I64Attr:$head_dim, Llm_RopeAttr:$rope);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $positions `head_dim` $head_dim $rope attr-dict `:`
    functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

def Llm_AttentionOp : Llm_Op<"attention"> {
  let summary = "scaled dot-product attention with GQA and a KV cache";
  let description = [{
    q: [B, S, num_heads*head_dim]; k, v: [B, S, num_kv_heads*head_dim], at
    `positions` [B, S]. With a cache, this call's keys and values are written
    into `cache` slot `cache_slot` at their positions first, and queries
    attend to every cached position <= their own (causal), or within
    `sliding_window` positions when set. Query head h uses kv head
    h / (num_heads / num_kv_heads). `scale` defaults to 1/sqrt(head_dim).
  }];
  let arguments = (ins Llm_Activation:$q, Llm_Activation:$k,
                       Llm_Activation:$v, Llm_TokenIds:$positions,
                       Optional<Llm_KVCacheType>:$cache,
                       OptionalAttr<I64Attr>:$cache_slot,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, UnitAttr:$causal,
                       OptionalAttr<I64Attr>:$sliding_window,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $positions
    (`cache` `(` $cache^ `:` type($cache) `)` `[` $cache_slot `]`)?
    `heads` $num_heads `kv_heads` $num_kv_heads `head_dim` $head_dim
    (`causal` $causal^)? (`window` $sliding_window^)? (`scale` $scale^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($positions)
    `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Query heads sharing one kv head.
    int64_t getGroupSize() { return getNumHeads() / getNumKvHeads(); }
  }];
}

def Llm_SwiGLUOp : Llm_Op<"swiglu", [Pure, SameOperandsAndResultType]> {
  let summary = "silu(gate) * up";
  let arguments = (ins Llm_Activation:$gate, Llm_Activation:$up);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Llm_AddOp : Llm_Op<"add", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise sum (residual connections)";
  let arguments = (ins Llm_Activation:$lhs, Llm_Activation:$rhs);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Llm_MoERouterOp : Llm_Op<"moe_router", [Pure]> {
  let summary = "softmax over expert logits, then top-k";
  let description = [{
    logits = x gate^T ([B, S, num_experts]); probabilities by softmax in fp32;
    the `top_k` largest are returned with their expert ids (ties: lower id
    first). With `renormalize` (Mixtral; Qwen2-MoE's norm_topk_prob) the k
    probabilities are divided by their sum.
  }];
  let arguments = (ins Llm_Activation:$input, Llm_Activation:$gate,
                       I64Attr:$num_experts, I64Attr:$top_k,
                       UnitAttr:$renormalize);
  let results = (outs Llm_Activation:$weights, Llm_TokenIds:$indices);
  let assemblyFormat = [{
    $input `,` $gate `experts` $num_experts `top_k` $top_k
    (`renormalize` $renormalize^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llm_ExpertsOp : Llm_Op<"experts", [Pure, AttrSizedOperandSegments]> {
  let summary = "routed SwiGLU experts, weighted by the router";
  let description = [{
    For each token and each of its top-k (weight, id) pairs whose expert is
    held here, adds weight * down_e(silu(gate_e x) * up_e x). `expert_ids`
    lists the global ids of the experts whose weights are operands (all of
    0..num_experts-1 when absent). Under expert parallelism `owners[e]` is
    the coordinate along grid axis `owner_axis` that holds expert e: a rank
    computes only the experts it owns (their weights are the only ones it
    loads), and the dispatch/combine around the op bring it exactly the
    tokens routed to them.

    FP8 experts (f8E4M3FN weights) list one fp32 scale per weight in
    `scales(gate(...) up(...) down(...))`, [rows, 1] per channel or [1] per
    tensor, in the order of the weights; each projection then computes as
    `llm.linear` with a weight scale does. Activations stay in the model's
    float type (weights-only FP8).
  }];
  let arguments = (ins Llm_Activation:$input, Llm_Activation:$routing_weights,
                       Llm_TokenIds:$routing_indices,
                       Variadic<Llm_MaybeFp8>:$gate_weights,
                       Variadic<Llm_MaybeFp8>:$up_weights,
                       Variadic<Llm_MaybeFp8>:$down_weights,
                       Variadic<Llm_Scale>:$gate_scales,
                       Variadic<Llm_Scale>:$up_scales,
                       Variadic<Llm_Scale>:$down_scales,
                       I64Attr:$num_experts,
                       OptionalAttr<DenseI64ArrayAttr>:$expert_ids,
                       OptionalAttr<StrAttr>:$owner_axis,
                       OptionalAttr<DenseI64ArrayAttr>:$owners);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $routing_weights `,` $routing_indices `experts` $num_experts
    (`ids` $expert_ids^)? (`owners` `(` $owner_axis^ `)` $owners)?
    `gate` `(` $gate_weights `)` `up` `(` $up_weights `)`
    `down` `(` $down_weights `)`
    (`scales` `(` `gate` `(` $gate_scales^ `)` `up` `(` $up_scales `)`
      `down` `(` $down_scales `)` `)`)? attr-dict `:`
    type($input) `,` type($routing_weights) `,` type($routing_indices)
    `gate` `(` type($gate_weights) `)` `up` `(` type($up_weights) `)`
    `down` `(` type($down_weights) `)`
    (`scales` `(` `gate` `(` type($gate_scales)^ `)` `up` `(`
      type($up_scales) `)` `down` `(` type($down_scales) `)` `)`)?
    `->` type($result)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$routingWeights,
                   "::mlir::Value":$routingIndices,
                   "::mlir::ValueRange":$gateWeights,
                   "::mlir::ValueRange":$upWeights,
                   "::mlir::ValueRange":$downWeights,
                   "::mlir::IntegerAttr":$numExperts), [{
      build($_builder, $_state, result, input, routingWeights,
            routingIndices, gateWeights, upWeights, downWeights,
            ::mlir::ValueRange(), ::mlir::ValueRange(), ::mlir::ValueRange(),
            numExperts, ::mlir::DenseI64ArrayAttr(), ::mlir::StringAttr(),
            ::mlir::DenseI64ArrayAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// Whether the experts carry FP8 scales.
    bool hasScales() { return !getGateScales().empty(); }
    /// The weights of the i-th local expert, then their scales (if any):
    /// everything that belongs to (and is owned with) that expert.
    ::llvm::SmallVector<::mlir::Value> getExpertOperands(unsigned i) {
      ::llvm::SmallVector<::mlir::Value> operands = {
          getGateWeights()[i], getUpWeights()[i], getDownWeights()[i]};
      if (hasScales())
        operands.append({getGateScales()[i], getUpScales()[i],
                         getDownScales()[i]});
      return operands;
    }
    /// Global id of the i-th expert whose weights are operands.
    int64_t getExpertId(unsigned i) {
      if (auto ids = getExpertIds())
        return (*ids)[i];
      return i;
    }
    unsigned getNumLocalExperts() { return getGateWeights().size(); }
  }];
}

def Llm_SharedExpertOp : Llm_Op<"shared_expert", [Pure,
    AttrSizedOperandSegments]> {
  let summary = "always-on SwiGLU expert scaled by a sigmoid gate (Qwen2-MoE)";
  let description = [{
    sigmoid(x expert_gate^T) * down(silu(gate x) * up x), expert_gate [1, H].
    FP8 gate/up/down weights take their fp32 scales in `scales(g, u, d)`;
    the expert gate stays in the model's float type.
  }];
  let arguments = (ins Llm_Activation:$input, Llm_MaybeFp8:$gate,
                       Llm_MaybeFp8:$up, Llm_MaybeFp8:$down,
                       Llm_Activation:$expert_gate,
                       Optional<Llm_Scale>:$gate_scale,
                       Optional<Llm_Scale>:$up_scale,
                       Optional<Llm_Scale>:$down_scale);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $gate `,` $up `,` $down `,` $expert_gate
    (`scales` `(` $gate_scale^ `,` $up_scale `,` $down_scale `)`)? attr-dict
    `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$gate, "::mlir::Value":$up,
                   "::mlir::Value":$down, "::mlir::Value":$expertGate), [{
      build($_builder, $_state, result, input, gate, up, down, expertGate,
            ::mlir::Value(), ::mlir::Value(), ::mlir::Value());
    }]>
  ];
}

//===----------------------------------------------------------------------===//
// FP8 activation quantization (docs/quantization.md)
//===----------------------------------------------------------------------===//

def Llm_TokenScaleOp : Llm_Op<"token_scale", [Pure]> {
  let summary = "dynamic per-token FP8 scale: max(absmax / 448, 2^-17.8)";
  let description = [{
    For every row of the last dim (one token), the fp32 scale
    `max(absmax / 448, kFp8MinScale)` of runtime/weights/Fp8.h, absmax the
    largest |x| of the row (NaNs ignored). W8A8 linears quantize their input
    with it (vLLM's dynamic per-token FP8). A max over the row commutes with
    the division and the floor, so the scale of a row split over ranks is
    the max of the ranks' scales: tensor parallelism all-reduces it with
    `max`.

    ```mlir
    %s = llm.token_scale %x : (tensor<?x?x4096xbf16>) -> tensor<?x?x1xf32>
    ```
  }];
  let arguments = (ins Llm_Activation:$input);
  let results = (outs Llm_Scale:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def Llm_QuantizeOp : Llm_Op<"quantize", [Pure]> {
  let summary = "rounds x / scale to FP8 E4M3 (nearest even, saturating)";
  let description = [{
    `result = floatToE4M3(x / scale)` elementwise (runtime/weights/Fp8.h:
    round to nearest even, +-448 saturation, NaN to 0x7F), with `scale`
    either per token ([..., 1], from `llm.token_scale`) or per tensor ([1],
    a checkpoint's static `input_scale`). The result feeds FP8 linears,
    which take the same scale as `input_scale`.

    ```mlir
    %q = llm.quantize %x, %s : (tensor<?x?x4096xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x4096xf8E4M3FN>
    ```
  }];
  let arguments = (ins Llm_Activation:$input, Llm_Scale:$scale);
  let results = (outs RankedTensorOf<[F8E4M3FN]>:$result);
  let assemblyFormat = "$input `,` $scale attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

def Llm_LastTokenOp : Llm_Op<"last_token", [Pure]> {
  let summary = "keeps the last sequence position: [B, S, H] -> [B, 1, H]";
  let description = [{
    Generation only needs the next-token distribution, so the lm_head runs on
    the last position (as vLLM and TensorRT-LLM do), not on the whole prompt.
  }];
  let arguments = (ins Llm_Activation:$input);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def Llm_LMHeadOp : Llm_Op<"lm_head", [Pure]> {
  let summary = "logits = x W^T, W [vocab, hidden]";
  let description = [{
    `tied` marks a head that reuses the token embedding table. With
    `vocab_parallel` the rank computes logits for its vocab block only. An
    FP8 head (untied only: embeddings stay in the model's float type) takes
    its fp32 scales in `scale`, as `llm.linear` does.
  }];
  let arguments = (ins Llm_Activation:$input, Llm_MaybeFp8:$weight,
                       Optional<Llm_Scale>:$weight_scale,
                       UnitAttr:$tied, UnitAttr:$vocab_parallel);
  let results = (outs Llm_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`scale` $weight_scale^)? (`tied` $tied^)?
    (`vocab_parallel` $vocab_parallel^)?
    attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$weight, "::mlir::UnitAttr":$tied,
                   "::mlir::UnitAttr":$vocabParallel), [{
      build($_builder, $_state, result, input, weight, ::mlir::Value(), tied,
            vocabParallel);
    }]>
  ];
}

def Llm_ArgmaxOp : Llm_Op<"argmax", [Pure]> {
  let summary = "greedy next token: index of the largest logit (lowest on ties)";
  let arguments = (ins Llm_Activation:$logits);
  let results = (outs Llm_TokenIds:$result);
  let assemblyFormat = "$logits attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def Llm_SampleOp : Llm_Op<"sample", [Pure]> {
  let summary = "temperature / top-k / top-p sampling";
  let description = [{
    Draws the next token from softmax(logits / temperature) restricted to the
    `top_k` most likely tokens (0: all) and to the smallest set whose mass
    reaches `top_p`. `seed` makes the draw reproducible.
  }];
  let arguments = (ins Llm_Activation:$logits, I64:$seed,
                       F64Attr:$temperature, F64Attr:$top_p,
                       DefaultValuedAttr<I64Attr, "0">:$top_k);
  let results = (outs Llm_TokenIds:$result);
  let assemblyFormat = [{
    $logits `,` $seed `temperature` $temperature `top_p` $top_p
    (`top_k` $top_k^)? attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

#endif // LLMC_DIALECT_LLM_OPS_TD
