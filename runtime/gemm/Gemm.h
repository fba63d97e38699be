//===- Gemm.h - cuBLASLt matmuls in the layout of Ops.h ---------*- C++ -*-===//
//
// Every dense projection of a model is out[M, N] = in[M, K] * W[N, K]^T with
// row-major activations and Hugging Face [out, in] weights. cuBLASLt is
// column-major, so we ask it for out^T = W * in^T: a row-major [R, C] matrix
// is the column-major [C, R] one, which makes W the "A" operand transposed
// (TN, the layout cuBLASLt is fastest in) and in the "B" operand as is.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_GEMM_GEMM_H
#define LLMC_RUNTIME_GEMM_GEMM_H

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct __nv_bfloat16;

namespace llmc::rt::gemm {

enum class OutType { BF16, F32 };
/// Element type of both inputs: bf16, or FP8 E4M3 codes (Hopper tensor
/// cores; without scales no bias, the scales applied by the caller: the
/// staged W8A8 path takes fp32 products, a bf16 output is one rounding
/// more).
enum class InType { BF16, E4M3 };

/// out[m, n] = a[m, k] * b[n, k]^T (+ bias[n]); all row-major with leading
/// dimensions in elements. bf16 or E4M3 inputs, fp32 accumulation.
struct MatmulNT {
  int64_t m = 0, n = 0, k = 0;
  InType inType = InType::BF16;
  const void *a = nullptr;
  int64_t lda = 0;
  const void *b = nullptr;
  int64_t ldb = 0;
  void *out = nullptr;
  int64_t ldo = 0;
  OutType outType = OutType::BF16;
  /// bf16 [n], added in cuBLASLt's epilogue; bf16 outputs only.
  const __nv_bfloat16 *bias = nullptr;
  /// E4M3 only, both or neither: fp32 device scales applied inside the
  /// GEMM, out[m, n] = (sum_k a b) * aScale[m] * bScale[n] (+ bias), bf16
  /// or fp32 out. aScale has m values (cuBLASLt's outer-vector mode);
  /// bScale n values, or one when bScalePerTensor. cuBLASLt may refuse
  /// (sm_90 needs CUDA 12.9+): the error says so and the caller stages.
  const float *aScale = nullptr;
  const float *bScale = nullptr;
  bool bScalePerTensor = false;
};

/// Runs `p` asynchronously on `stream`. The algorithm is asked of
/// cuBLASLt's heuristic once per shape, alignment and workspace size and
/// cached (per thread, so emulated ranks on threads never share a
/// descriptor). Never synchronises, so it can be captured in a CUDA graph.
/// Returns "" on success, else a message naming the shape and the cuBLASLt
/// status.
std::string matmulNT(cublasLtHandle_t lt, cudaStream_t stream, void *workspace,
                     size_t workspaceBytes, const MatmulNT &p);

/// One of cuBLASLt's heuristic answers for a shape, timed.
struct AlgoTime {
  int rank = 0;        ///< the heuristic's order; 0 is what matmulNT runs
  int algoId = -1, tileId = -1, splitK = -1;
  size_t workspace = 0;
  float ms = 0.f;      ///< best of 3 rounds of `reps` launches; 0 if failed
  std::string status;  ///< why it was not timed ("" when timed)
};

/// Asks cuBLASLt's heuristic for up to `count` algorithms for `p` (the
/// descriptors and preference matmulNT uses) and times each on `stream`
/// (synchronising: not for a captured stream). For benchmarks that ask how
/// far the heuristic's first answer is from the best of its list.
/// `error` says why nothing was timed.
std::vector<AlgoTime> timeHeuristicAlgos(cublasLtHandle_t lt,
                                         cudaStream_t stream, void *workspace,
                                         size_t workspaceBytes,
                                         const MatmulNT &p, int count,
                                         int reps, std::string &error);

/// One shape bucket's choice among cuBLASLt's heuristic answers.
struct TuningEntry {
  std::string shape; ///< the bucket: types, rows, sizes, alignments, workspace
  int rank = 0;      ///< index in the heuristic's list (0: its first answer)
  int algoId = -1, tileId = -1, splitK = -1; ///< that answer's identity
  float firstUs = 0.f, bestUs = 0.f; ///< the first answer's and the choice's
};

/// Per-shape tuning of matmulNT's algorithm (llm-model --tune-gemms,
/// --gemm-tuning=FILE). Off by default: the heuristic's first answer, as
/// always. On: the first plan of each row bucket built on a stream that is
/// not capturing times the bucket's first 8 answers on the call's own
/// operands (synchronising, once per bucket) and keeps the fastest where it
/// beats the first by 1.5%. Entries of the table (tuned or loaded) are used
/// whether or not tuning is on; one whose answer is no longer the recorded
/// algorithm is ignored. The table is shared by every thread.
void setTuning(bool tune);
/// Adds the entries of a table saveTuning wrote; "" or why not (unreadable,
/// malformed, or tuned on another GPU or cuBLASLt).
std::string loadTuning(const std::string &path);
/// Writes the table (the GPU and cuBLASLt version, every entry) as JSON,
/// through a temporary file renamed over `path` (several processes may
/// save the same file).
std::string saveTuning(const std::string &path);
/// The table's entries, by shape.
std::vector<TuningEntry> tuningEntries();

} // namespace llmc::rt::gemm

#endif // LLMC_RUNTIME_GEMM_GEMM_H
