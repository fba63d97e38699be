//===- LlmBase.td - llm dialect, types and attributes ------*- tablegen -*-===//
//
// The `llm` dialect describes a decoder-only Transformer at the level a reader
// of a model card thinks in: embedding, rms_norm, linear, rope, attention,
// swiglu, MoE router/experts, lm_head. Values are tensors with dynamic batch
// and sequence dims; weights are symbols naming safetensors tensors.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_BASE_TD
#define LLMC_DIALECT_LLM_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def Llm_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::llmc::llm";
  let summary = "Decoder-only Transformer model graphs";
  let description = [{
    Whole-model, single-device semantics: every op computes what the
    Hugging Face reference computes. Sharding passes rewrite the graph into a
    per-rank program on local shapes, inserting `shard` collectives and
    `dist` pipeline transfers.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let extraClassDeclaration = [{
    /// The function llm-import creates and every pass and tool runs.
    static constexpr ::llvm::StringLiteral kEntryName = "forward";
    /// Module facts llm-import copies from the Hugging Face config.
    static constexpr ::llvm::StringLiteral kArchitectureAttrName =
        "llm.architecture";
    static constexpr ::llvm::StringLiteral kSourceAttrName = "llm.source";
    static constexpr ::llvm::StringLiteral kMaxPositionEmbeddingsAttrName =
        "llm.max_position_embeddings";
    static constexpr ::llvm::StringLiteral kEosTokenIdsAttrName =
        "llm.eos_token_ids";
    static constexpr ::llvm::StringLiteral kBosTokenIdAttrName =
        "llm.bos_token_id";
    static constexpr ::llvm::StringLiteral kQuantizationAttrName =
        "llm.quantization";
    /// Argument attribute naming each argument of the entry function
    /// ("input_ids", "positions", "kv_cache").
    static constexpr ::llvm::StringLiteral kArgNameAttrName = "llm.name";
  }];
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class Llm_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Llm_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Llm_KVScaleKind : I32EnumAttr<"KVScaleKind",
    "how an FP8 KV cache scales its entries", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"per_token_head", 1>
    ]> {
  let cppNamespace = "::llmc::llm";
  let genSpecializedAttr = 0;
}

/// The scale scheme of a KV cache; `none` (the default) is not printed.
def Llm_KVScaleKindParameter : EnumParameter<Llm_KVScaleKind> {
  let defaultValue = "::llmc::llm::KVScaleKind::none";
}

def Llm_KVCacheType : Llm_Type<"KVCache", "kv_cache"> {
  let summary = "key/value cache of a group of decoder layers";
  let description = [{
    A mutable resource holding, for each of `layers` cache slots, keys and
    values of shape [batch, kv_heads, max_seq, head_dim]. Batch and maximum
    sequence length are runtime sizes (chosen by the executor or the
    deployable binary's manifest); the type fixes what the graph decides.
    After sharding, `kv_heads` and `layers` are the rank's local counts.

    An FP8 cache (`f8E4M3FN`) must say how its entries are scaled; the one
    scheme is `scales = per_token_head`: every stored key (and value) head
    vector of one token gets its own fp32 scale, max(absmax / 448, 2^-17.8)
    (runtime/weights/Fp8.h), computed when it is written, so no calibration
    data is needed and every sharding plan stores the same bits
    (docs/quantization.md). Other element types take no scales.

    Examples:
      `!llm.kv_cache<layers = 32, kv_heads = 8, head_dim = 128, bf16>`
      `!llm.kv_cache<layers = 32, kv_heads = 8, head_dim = 128, f8E4M3FN, scales = per_token_head>`
  }];
  let parameters = (ins "int64_t":$numLayers, "int64_t":$numKvHeads,
                        "int64_t":$headDim, "::mlir::Type":$elementType,
                        Llm_KVScaleKindParameter:$scales);
  let assemblyFormat = [{
    `<` `layers` `=` $numLayers `,` `kv_heads` `=` $numKvHeads `,`
        `head_dim` `=` $headDim `,` $elementType
        (`,` `scales` `=` $scales^)? `>`
  }];
  let builders = [
    TypeBuilder<(ins "int64_t":$numLayers, "int64_t":$numKvHeads,
                     "int64_t":$headDim, "::mlir::Type":$elementType,
                     CArg<"::llmc::llm::KVScaleKind",
                          "::llmc::llm::KVScaleKind::none">:$scales), [{
      return $_get($_ctxt, numLayers, numKvHeads, headDim, elementType,
                   scales);
    }]>
  ];
  let skipDefaultBuilders = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether entries are stored as FP8 codes with per-vector scales.
    bool isFp8() const { return getScales() != KVScaleKind::none; }
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Llm_RopeScalingKind : I32EnumAttr<"RopeScalingKind",
    "RoPE frequency scaling", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"linear", 1>,
      I32EnumAttrCase<"llama3", 2>
    ]> {
  let cppNamespace = "::llmc::llm";
  let genSpecializedAttr = 0;
}

class Llm_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Llm_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Llm_RopeAttr : Llm_Attr<"Rope", "rope"> {
  let summary = "rotary position embedding parameters";
  let description = [{
    Base frequency `theta` and optional scaling as in Hugging Face's
    `rope_scaling`: `linear` divides positions by `factor`; `llama3` rescales
    low frequencies by `factor`, keeps high frequencies and interpolates in
    between using `low_freq_factor`, `high_freq_factor` and
    `original_max_position` (Llama 3.1).

    Examples:
      `#llm.rope<theta = 10000.0>`
      `#llm.rope<theta = 10000.0, linear, factor = 4.0>`
      `#llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 1.0,
                 high_freq_factor = 4.0, original_max_position = 8192>`
  }];
  let parameters = (ins APFloatParameter<"base frequency">:$theta,
                        "RopeScalingKind":$kind,
                        APFloatParameter<"scaling factor">:$factor,
                        APFloatParameter<"llama3 low">:$lowFreqFactor,
                        APFloatParameter<"llama3 high">:$highFreqFactor,
                        "int64_t":$originalMaxPosition);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "double":$theta, CArg<"RopeScalingKind",
                     "RopeScalingKind::none">:$kind,
                     CArg<"double", "1.0">:$factor,
                     CArg<"double", "1.0">:$lowFreqFactor,
                     CArg<"double", "1.0">:$highFreqFactor,
                     CArg<"int64_t", "0">:$originalMaxPosition), [{
      return $_get($_ctxt, ::llvm::APFloat(theta), kind,
                   ::llvm::APFloat(factor), ::llvm::APFloat(lowFreqFactor),
                   ::llvm::APFloat(highFreqFactor), originalMaxPosition);
    }]>
  ];
  let extraClassDeclaration = [{
    double getThetaValue() const { return getTheta().convertToDouble(); }
    double getFactorValue() const { return getFactor().convertToDouble(); }
    double getLowFreqFactorValue() const {
      return getLowFreqFactor().convertToDouble();
    }
    double getHighFreqFactorValue() const {
      return getHighFreqFactor().convertToDouble();
    }
  }];
}

def Llm_WeightSliceAttr : Llm_Attr<"WeightSlice", "slice"> {
  let summary = "which part of a full checkpoint tensor a rank loads";
  let description = [{
    A weight declared with a slice is a `size`-long block of the full tensor
    (shape `full_shape`) along dimension `dim`. The block's start depends on
    the rank's coordinate along grid axis `axis`: rank with coordinate i loads
    `[offsets[i], offsets[i] + size)`. Offsets may repeat: kv heads replicated
    over tensor-parallel ranks when tp > num_kv_heads, or experts assigned to
    expert-parallel ranks.

    Example: `#llm.slice<dim = 0, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072], full = [4096, 4096]>`
  }];
  let parameters = (ins "int64_t":$dim, "int64_t":$size,
                        StringRefParameter<>:$axis,
                        ArrayRefParameter<"int64_t">:$offsets,
                        ArrayRefParameter<"int64_t">:$fullShape);
  let assemblyFormat = [{
    `<` `dim` `=` $dim `,` `size` `=` $size `,` `axis` `=` $axis `,`
        `offsets` `=` `[` $offsets `]` `,` `full` `=` `[` $fullShape `]` `>`
  }];
  let genVerifyDecl = 1;
}

def Llm_OwnerAttr : Llm_Attr<"Owner", "owner"> {
  let summary = "the one coordinate of a grid axis whose ranks load a weight";
  let description = [{
    Expert parallelism places each expert on one coordinate of the `ep`
    axis: only ranks with coordinate `coord` along `axis` load the weight;
    on the others it is absent, and the ops using it skip that expert.

    Example: `#llm.owner<axis = "ep", coord = 2>`
  }];
  let parameters = (ins StringRefParameter<>:$axis, "int64_t":$coord);
  let assemblyFormat = "`<` `axis` `=` $axis `,` `coord` `=` $coord `>`";
}

#endif // LLMC_DIALECT_LLM_BASE_TD
