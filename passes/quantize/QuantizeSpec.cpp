//===- QuantizeSpec.cpp - the --quantize grammar --------------------------===//
//
// One grammar for every tool; it only chooses the llm-quantize pass options,
// so the pass stays the one place that knows what quantization does.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Passes.h"
#include "llmc/Passes/Quantize.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace llvm;

namespace llmc {

namespace {
constexpr const char *kValidTerms =
    "fp8 (FP8 weights), w8a8-fp8 (FP8 weights and activations), kv-fp8 "
    "(FP8 KV cache), lm-head (also lm_head), none";
} // namespace

std::string QuantizeSpec::str() const {
  SmallVector<StringRef> terms;
  if (activations)
    terms.push_back("w8a8-fp8");
  else if (weights)
    terms.push_back("fp8");
  if (kvCache)
    terms.push_back("kv-fp8");
  if (lmHead)
    terms.push_back("lm-head");
  return terms.empty() ? "none" : join(terms, ",");
}

std::string QuantizeSpec::passOptions() const {
  return std::string("weights=") + (weights ? "fp8-e4m3" : "none") +
         " activations=" + (activations ? "fp8-dynamic" : "none") +
         " kv-cache=" + (kvCache ? "fp8-e4m3" : "none") +
         " lm-head=" + (lmHead ? "true" : "false");
}

Expected<QuantizeSpec> parseQuantizeSpec(StringRef text) {
  QuantizeSpec spec;
  if (text.trim().empty())
    return createStringError("--quantize is empty; expected a comma list of "
                             "%s",
                             kValidTerms);
  SmallVector<StringRef> terms;
  text.split(terms, ',');
  StringSet<> seen;
  for (StringRef raw : terms) {
    StringRef term = raw.trim();
    if (term.empty())
      return createStringError("--quantize='%s' has an empty term; expected "
                               "a comma list of %s",
                               text.str().c_str(), kValidTerms);
    if (!seen.insert(term).second)
      return createStringError("--quantize='%s' names '%s' twice",
                               text.str().c_str(), term.str().c_str());
    if (term == "fp8") {
      spec.weights = true;
    } else if (term == "w8a8-fp8") {
      spec.weights = spec.activations = true;
    } else if (term == "kv-fp8") {
      spec.kvCache = true;
    } else if (term == "lm-head") {
      spec.lmHead = true;
    } else if (term == "none") {
      if (terms.size() != 1)
        return createStringError("--quantize='%s': 'none' cannot be combined "
                                 "with other terms",
                                 text.str().c_str());
    } else {
      return createStringError("--quantize='%s': unknown term '%s'; expected "
                               "a comma list of %s",
                               text.str().c_str(), term.str().c_str(),
                               kValidTerms);
    }
  }
  if (seen.contains("fp8") && seen.contains("w8a8-fp8"))
    return createStringError("--quantize='%s': 'fp8' (weights only) and "
                             "'w8a8-fp8' (weights and activations) exclude "
                             "each other; pick one",
                             text.str().c_str());
  if (spec.lmHead && !spec.weights)
    return createStringError("--quantize='%s': 'lm-head' quantizes lm_head's "
                             "weight and needs 'fp8' or 'w8a8-fp8'",
                             text.str().c_str());
  return spec;
}

mlir::LogicalResult quantizeModule(mlir::ModuleOp module,
                                   const QuantizeSpec &spec) {
  if (!spec.any())
    return mlir::success();
  mlir::PassManager pm(module.getContext());
  buildQuantizePipeline(pm, spec);
  return pm.run(module);
}

void buildQuantizePipeline(mlir::OpPassManager &pm, const QuantizeSpec &spec) {
  if (!spec.any())
    return;
  QuantizeOptions options;
  options.weights = spec.weights ? "fp8-e4m3" : "none";
  options.activations = spec.activations ? "fp8-dynamic" : "none";
  options.kvCache = spec.kvCache ? "fp8-e4m3" : "none";
  options.lmHead = spec.lmHead;
  pm.addPass(createQuantize(options));
}

} // namespace llmc
