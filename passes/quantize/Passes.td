//===- Passes.td - quantization passes ---------------------*- tablegen -*-===//
//
// Quantization runs on the whole-model graph, before sharding, so the
// sharding passes slice FP8 scales like any other weight.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_QUANTIZE_PASSES_TD
#define LLMC_PASSES_QUANTIZE_PASSES_TD

include "mlir/Pass/PassBase.td"

def Quantize : Pass<"llm-quantize", "::mlir::ModuleOp"> {
  let summary = "FP8 (E4M3) weights, activations and KV cache";
  let description = [{
    Rewrites the unsharded graph to FP8 (docs/quantization.md):

    * `weights=fp8-e4m3`: the weights of `llm.linear`, of routed experts
      (each expert's gate/up/down) and of the shared expert become
      `f8E4M3FN` symbols, each naming a new fp32 scale symbol
      `<weight>_scale` of shape [out, 1] (one scale per output channel, as
      llm-compressor names them); every op using the weight takes the scale
      as an operand. Embeddings, norms, biases, the MoE router and the
      shared expert's gate stay in the model's float type, and so does
      `lm_head` unless `lm-head=true` (refused for a head tied to the
      embedding). Weights that are FP8 already (an FP8 checkpoint) are kept.
    * `activations=fp8-dynamic` (W8A8, needs FP8 weights): each
      `llm.linear` input is quantized per token, `llm.token_scale` then
      `llm.quantize`, once per distinct input value (q/k/v share one).
      Experts keep their activations in the model's float type.
    * `kv-cache=fp8-e4m3`: the `!llm.kv_cache` becomes `f8E4M3FN` with
      `scales = per_token_head`.

    Before:
    ```mlir
    llm.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xbf16>
    %w = llm.param @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xbf16>
    %q = llm.linear %x, %w : (tensor<?x?x4096xbf16>, tensor<4096x4096xbf16>) -> tensor<?x?x4096xbf16>
    ```
    After `--llm-quantize="weights=fp8-e4m3 activations=fp8-dynamic"`:
    ```mlir
    llm.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xf8E4M3FN> scale @"model.layers.0.self_attn.q_proj.weight_scale"
    llm.weight @"model.layers.0.self_attn.q_proj.weight_scale" : tensor<4096x1xf32>
    %w = llm.param @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xf8E4M3FN>
    %ws = llm.param @"model.layers.0.self_attn.q_proj.weight_scale" : tensor<4096x1xf32>
    %s = llm.token_scale %x : (tensor<?x?x4096xbf16>) -> tensor<?x?x1xf32>
    %xq = llm.quantize %x, %s : (tensor<?x?x4096xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x4096xf8E4M3FN>
    %q = llm.linear %xq, %w scale %ws input_scale %s : (...) -> tensor<?x?x4096xbf16>
    ```
    The pass refuses a sharded module: quantize first, then shard.
  }];
  let options = [
    Option<"weights", "weights", "std::string", /*default=*/"\"fp8-e4m3\"",
           "Weight format: fp8-e4m3 or none">,
    Option<"activations", "activations", "std::string", /*default=*/"\"none\"",
           "Linear-input format: fp8-dynamic (per-token scales) or none">,
    Option<"kvCache", "kv-cache", "std::string", /*default=*/"\"none\"",
           "KV cache format: fp8-e4m3 or none">,
    Option<"lmHead", "lm-head", "bool", /*default=*/"false",
           "Quantize lm_head too (untied heads only)">,
  ];
}

#endif // LLMC_PASSES_QUANTIZE_PASSES_TD
