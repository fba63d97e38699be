//===- Gemm.cpp - cuBLASLt matmuls with a per-shape algorithm cache
//---------===//
//
// The heuristic query costs far more than the matmul for decode-sized
// shapes, so descriptors and the chosen algorithm are built once per shape
// and reused; a step then costs one cublasLtMatmul call per projection.
//
//===----------------------------------------------------------------------===//

#include "runtime/gemm/Gemm.h"
#include "runtime/device/Device.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <unistd.h>

namespace llmc::rt::gemm {

namespace {

/// Largest power of two <= 256 dividing the address: cuBLASLt's heuristic
/// assumes 256-byte alignment unless told otherwise, and a weight slice or an
/// activation view may be less aligned.
uint32_t alignmentOf(const void *p) {
  auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (v & (a - 1)))
    a >>= 1;
  return a;
}

struct Key {
  cublasLtHandle_t lt;
  int64_t m, n, k, lda, ldb, ldo;
  int outType, inType;
  bool bias;
  int scales; // 0 none, 1 outer vectors, 2 outer vector x per-tensor
  uint32_t alignA, alignB, alignOut, alignBias;
  size_t workspace;
  bool operator==(const Key &o) const {
    return lt == o.lt && m == o.m && n == o.n && k == o.k && lda == o.lda &&
           ldb == o.ldb && ldo == o.ldo && outType == o.outType && inType == o.inType &&
           bias == o.bias && scales == o.scales && alignA == o.alignA && alignB == o.alignB &&
           alignOut == o.alignOut && alignBias == o.alignBias &&
           workspace == o.workspace;
  }
};

struct KeyHash {
  size_t operator()(const Key &k) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    mix(reinterpret_cast<uintptr_t>(k.lt));
    for (int64_t v : {k.m, k.n, k.k, k.lda, k.ldb, k.ldo})
      mix(uint64_t(v));
    mix(uint64_t(k.outType) | uint64_t(k.bias) << 8 | uint64_t(k.alignA) << 16 |
        uint64_t(k.alignB) << 32 | uint64_t(k.alignOut) << 48);
    mix(uint64_t(k.alignBias) << 32 | uint64_t(k.workspace));
    mix(uint64_t(k.inType) | uint64_t(k.scales) << 8);
    return size_t(h);
  }
};

/// Descriptors and algorithm of one shape, or why cuBLASLt refused it
/// (kept, so a refused shape costs one heuristic query, not one per call);
/// owned by the thread's cache.
struct Plan {
  std::string error;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t layoutW = nullptr, layoutX = nullptr,
                         layoutOut = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (layoutOut)
      cublasLtMatrixLayoutDestroy(layoutOut);
    if (layoutX)
      cublasLtMatrixLayoutDestroy(layoutX);
    if (layoutW)
      cublasLtMatrixLayoutDestroy(layoutW);
    if (desc)
      cublasLtMatmulDescDestroy(desc);
  }
};

std::string describe(const MatmulNT &p) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%s[%lld, %lld] x [%lld, %lld]^T -> %s (lda %lld, ldb %lld, "
                "ldo %lld%s%s)",
                p.inType == InType::E4M3 ? "e4m3 " : "", (long long)p.m,
                (long long)p.k, (long long)p.n, (long long)p.k,
                p.outType == OutType::F32 ? "f32" : "bf16", (long long)p.lda,
                (long long)p.ldb, (long long)p.ldo, p.bias ? ", bias" : "",
                !p.aScale ? ""
                : p.bScalePerTensor
                    ? ", row scales x one weight scale"
                    : ", row scales x column scales");
  return buf;
}

/// The row count whose heuristic answer a GEMM of m rows uses: m up to 16
/// (decode batches), then m rounded up to 16 rows up to 128, to 64 up to
/// 1024, to 256 beyond, so a handful of queries covers every size.
int64_t heuristicRows(int64_t m) {
  int64_t step = m <= 16 ? 1 : m <= 128 ? 16 : m <= 1024 ? 64 : 256;
  return (m + step - 1) / step * step;
}

std::string statusError(const char *what, cublasStatus_t s, const MatmulNT &p) {
  return std::string("cuBLASLt ") + what + " failed (" +
         cublasLtGetStatusName(s) + ") for " + describe(p);
}

/// The heuristic's preference for `key`: the workspace limit and the
/// operands' alignments; "" on success (the caller destroys `pref`; on
/// failure it is destroyed here).
std::string createPreference(size_t workspaceBytes, const Key &key,
                             const MatmulNT &p,
                             cublasLtMatmulPreference_t &pref) {
  cublasStatus_t s;
  if ((s = cublasLtMatmulPreferenceCreate(&pref)) != CUBLAS_STATUS_SUCCESS)
    return statusError("PreferenceCreate", s, p);
  auto fail = [&](const char *what) {
    cublasLtMatmulPreferenceDestroy(pref);
    pref = nullptr;
    return statusError(what, s, p);
  };
  uint64_t ws = workspaceBytes;
  if ((s = cublasLtMatmulPreferenceSetAttribute(
           pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws)) !=
      CUBLAS_STATUS_SUCCESS)
    return fail("set MAX_WORKSPACE_BYTES");
  // cuBLASLt's "A" is our weight, "B" our activation.
  struct {
    cublasLtMatmulPreferenceAttributes_t attr;
    uint32_t value;
  } aligns[] = {{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.alignB},
                {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.alignA},
                {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.alignOut},
                {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.alignOut}};
  for (auto &a : aligns)
    if ((s = cublasLtMatmulPreferenceSetAttribute(pref, a.attr, &a.value,
                                                  sizeof a.value)) !=
        CUBLAS_STATUS_SUCCESS)
      return fail("set MIN_ALIGNMENT");
  return "";
}

#define LLMC_LT(call, what)                                                    \
  if ((s = (call)) != CUBLAS_STATUS_SUCCESS)                                   \
    return statusError(what, s, p);

/// cuBLASLt's element types of p's inputs and output.
cudaDataType_t inTypeOf(const MatmulNT &p) {
  return p.inType == InType::E4M3 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
}
cudaDataType_t outTypeOf(const MatmulNT &p) {
  return p.outType == OutType::F32 ? CUDA_R_32F : CUDA_R_16BF;
}

/// The per-call pointers of `p` (bias, scales) into the plan's descriptor.
std::string setPointers(Plan &plan, const MatmulNT &p) {
  cublasStatus_t s;
  if (p.bias && (s = cublasLtMatmulDescSetAttribute(
                     plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias,
                     sizeof p.bias)) != CUBLAS_STATUS_SUCCESS)
    return statusError("set BIAS_POINTER", s, p);
  if (p.aScale &&
      ((s = cublasLtMatmulDescSetAttribute(
            plan.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &p.bScale,
            sizeof p.bScale)) != CUBLAS_STATUS_SUCCESS ||
       (s = cublasLtMatmulDescSetAttribute(
            plan.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &p.aScale,
            sizeof p.aScale)) != CUBLAS_STATUS_SUCCESS))
    return statusError("set SCALE_POINTER", s, p);
  return "";
}

/// The plan's descriptor (transposes, epilogue, scale modes) and layouts
/// for p; "" on success.
std::string buildDescriptors(const MatmulNT &p, Plan &plan) {
  cublasStatus_t s;
  LLMC_LT(cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
          "MatmulDescCreate");
  cublasOperation_t transW = CUBLAS_OP_T, transX = CUBLAS_OP_N;
  LLMC_LT(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                         &transW, sizeof transW),
          "set TRANSA");
  LLMC_LT(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB,
                                         &transX, sizeof transX),
          "set TRANSB");
  if (p.bias) {
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    LLMC_LT(cublasLtMatmulDescSetAttribute(
                plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
            "set EPILOGUE");
    cudaDataType_t biasType = CUDA_R_16BF;
    LLMC_LT(cublasLtMatmulDescSetAttribute(plan.desc,
                                           CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                           &biasType, sizeof biasType),
            "set BIAS_DATA_TYPE");
  }
  if (p.inType == InType::E4M3 && cuda::fp8FastAccum()) {
    int8_t on = 1;
    LLMC_LT(cublasLtMatmulDescSetAttribute(plan.desc,
                                           CUBLASLT_MATMUL_DESC_FAST_ACCUM,
                                           &on, sizeof on),
            "set FAST_ACCUM");
  }
  if (p.aScale) {
    // cuBLASLt's A is our b (the weight, n scales or one), its B our a (the
    // activations, m scales). The pointers change per call.
    cublasLtMatmulMatrixScale_t modeA =
        p.bScalePerTensor ? CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F
                          : CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
    cublasLtMatmulMatrixScale_t modeB =
        CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
    LLMC_LT(cublasLtMatmulDescSetAttribute(plan.desc,
                                           CUBLASLT_MATMUL_DESC_A_SCALE_MODE,
                                           &modeA, sizeof modeA),
            "set A_SCALE_MODE");
    LLMC_LT(cublasLtMatmulDescSetAttribute(plan.desc,
                                           CUBLASLT_MATMUL_DESC_B_SCALE_MODE,
                                           &modeB, sizeof modeB),
            "set B_SCALE_MODE");
  }
  // Column-major views: W^T is [k, n] (ld ldb), in^T is [k, m] (ld lda),
  // out^T is [n, m] (ld ldo).
  cudaDataType_t outType = outTypeOf(p), inType = inTypeOf(p);
  LLMC_LT(cublasLtMatrixLayoutCreate(&plan.layoutW, inType, uint64_t(p.k),
                                     uint64_t(p.n), p.ldb),
          "layout W");
  LLMC_LT(cublasLtMatrixLayoutCreate(&plan.layoutX, inType, uint64_t(p.k),
                                     uint64_t(p.m), p.lda),
          "layout X");
  LLMC_LT(cublasLtMatrixLayoutCreate(&plan.layoutOut, outType, uint64_t(p.n),
                                     uint64_t(p.m), p.ldo),
          "layout out");
  // The descriptor is complete before any heuristic query: this call's bias
  // and scale pointers (the outer-vector scale modes were refused when
  // queried with null scale pointers); later calls set theirs.
  return setPointers(plan, p);
}

/// The algorithm's identity as the tuning table records it.
void algoIdentity(const cublasLtMatmulAlgo_t &algo, int &id, int &tile,
                  int &splitK) {
  size_t written = 0;
  id = tile = splitK = -1;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_ID, &id,
                                       sizeof id, &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_TILE_ID,
                                       &tile, sizeof tile, &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                       &splitK, sizeof splitK, &written);
}

/// Milliseconds per launch of `algo` on p (best of 3 rounds of `reps`
/// after 2 untimed launches), or 0 with `status` set. Synchronises.
float timeAlgo(cublasLtHandle_t lt, const Plan &plan, const MatmulNT &p,
               const cublasLtMatmulAlgo_t &algo, void *workspace,
               size_t workspaceBytes, cudaStream_t stream, int reps,
               std::string &status) {
  cudaEvent_t start = nullptr, stop = nullptr;
  if (cudaEventCreate(&start) != cudaSuccess ||
      cudaEventCreate(&stop) != cudaSuccess) {
    if (start)
      cudaEventDestroy(start);
    status = "cudaEventCreate failed";
    return 0.f;
  }
  const float alpha = 1.f, beta = 0.f;
  auto launch = [&] {
    return cublasLtMatmul(lt, plan.desc, &alpha, p.b, plan.layoutW, p.a,
                          plan.layoutX, &beta, p.out, plan.layoutOut, p.out,
                          plan.layoutOut, &algo, workspace, workspaceBytes,
                          stream);
  };
  float best = 0.f;
  cublasStatus_t s;
  if ((s = launch()) != CUBLAS_STATUS_SUCCESS ||
      (s = launch()) != CUBLAS_STATUS_SUCCESS) {
    status = cublasLtGetStatusName(s);
  } else {
    for (int round = 0; round < 3; ++round) {
      cudaEventRecord(start, stream);
      for (int r = 0; r < reps; ++r)
        launch();
      cudaEventRecord(stop, stream);
      cudaEventSynchronize(stop);
      float ms = 0.f;
      cudaEventElapsedTime(&ms, start, stop);
      ms /= float(reps > 0 ? reps : 1);
      best = round == 0 || ms < best ? ms : best;
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

/// The tuning table (setTuning, loadTuning): one entry per shape bucket,
/// shared by every thread (emulated ranks tune a bucket once).
struct Tuning {
  std::mutex mutex;
  bool tune = false;
  std::map<std::string, TuningEntry> entries;
};
Tuning &tuning() {
  static Tuning t;
  return t;
}

/// The table's name of a bucket: everything of the key but the handle.
std::string shapeName(const Key &k) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s>%s m%lld n%lld k%lld lda%lld ldb%lld ldo%lld%s%s "
                "align%u/%u/%u/%u ws%zu",
                k.inType == int(InType::E4M3) ? "e4m3" : "bf16",
                k.outType == int(OutType::F32) ? "f32" : "bf16",
                (long long)k.m, (long long)k.n, (long long)k.k,
                (long long)k.lda, (long long)k.ldb, (long long)k.ldo,
                k.bias ? " bias" : "",
                k.scales == 1   ? " scales"
                : k.scales == 2 ? " scales-per-tensor"
                                : "",
                k.alignA, k.alignB, k.alignOut, k.alignBias, k.workspace);
  return buf;
}

/// Answers of a tuned GEMM's heuristic list timed against its first.
constexpr int kTuneAnswers = 8;
/// A later answer replaces the first only when this much faster (timing
/// noise must not flip the choice between runs).
constexpr float kTuneMinGain = 0.015f;

/// Times the heuristic's answers `list` (those `usable`; the first is) on
/// p's operands and fills `e` (rank, identity, first and best times) with
/// the fastest, the first unless another is kTuneMinGain ahead. False when
/// the first answer did not run.
bool timeAnswers(cublasLtHandle_t lt, const Plan &plan, const MatmulNT &p,
                 const std::vector<cublasLtMatmulAlgo_t> &list,
                 const std::vector<bool> &usable, void *workspace,
                 size_t workspaceBytes, cudaStream_t stream, TuningEntry &e) {
  int reps = p.m * p.n * p.k >= (int64_t(1) << 34) ? 10 : 30;
  std::string status;
  float first = timeAlgo(lt, plan, p, list[0], workspace, workspaceBytes,
                         stream, reps, status);
  int bestRank = 0;
  float best = first;
  for (int i = 1; first > 0.f && i < int(list.size()); ++i) {
    if (!usable[size_t(i)])
      continue;
    float ms = timeAlgo(lt, plan, p, list[size_t(i)], workspace,
                        workspaceBytes, stream, reps, status);
    if (ms > 0.f && ms < best)
      best = ms, bestRank = i;
  }
  cudaGetLastError();
  if (first <= 0.f)
    return false;
  if (best > first * (1.f - kTuneMinGain))
    bestRank = 0, best = first;
  e.rank = bestRank;
  algoIdentity(list[size_t(bestRank)], e.algoId, e.tileId, e.splitK);
  e.firstUs = 1e3f * first;
  e.bestUs = 1e3f * best;
  return true;
}

// Builds the plan: descriptors, then the algorithm; "" on success.
std::string buildPlan(cublasLtHandle_t lt, cudaStream_t stream,
                      void *workspace, size_t workspaceBytes,
                      const MatmulNT &p, const Key &key, Plan &plan) {
  if (std::string e = buildDescriptors(p, plan); !e.empty())
    return e;
  cublasStatus_t s;
  cudaDataType_t outType = outTypeOf(p), inType = inTypeOf(p);
  cublasLtMatmulPreference_t pref = nullptr;
  if (std::string e = createPreference(workspaceBytes, key, p, pref);
      !e.empty())
    return e;
  struct PrefGuard {
    cublasLtMatmulPreference_t p;
    ~PrefGuard() { cublasLtMatmulPreferenceDestroy(p); }
  } guard{pref};

  // The heuristic's answer for the bucket of p.m rows (heuristicRows),
  // asked once per bucket and kept: a server's flat steps have a different
  // row count nearly every step, and one heuristic query costs more than
  // a decode step's GEMM. The bucket's algorithm is used where cuBLASLt
  // confirms it for the exact shape (AlgoCheck), else the exact shape's.
  Key bucketKey = key;
  bucketKey.m = heuristicRows(p.m);
  thread_local std::unordered_map<Key, cublasLtMatmulAlgo_t, KeyHash> algos;
  auto fits = [&](const cublasLtMatmulAlgo_t &algo) {
    cublasLtMatmulHeuristicResult_t check{};
    return cublasLtMatmulAlgoCheck(lt, plan.desc, plan.layoutW, plan.layoutX,
                                   plan.layoutOut, plan.layoutOut, &algo,
                                   &check) == CUBLAS_STATUS_SUCCESS &&
           check.workspaceSize <= workspaceBytes;
  };
  // Up to `count` answers of the heuristic for layouts x, out.
  auto askList = [&](cublasLtMatrixLayout_t x, cublasLtMatrixLayout_t out,
                     int count,
                     std::vector<cublasLtMatmulAlgo_t> &list) -> std::string {
    std::vector<cublasLtMatmulHeuristicResult_t> results(
        static_cast<size_t>(count));
    int found = 0;
    LLMC_LT(cublasLtMatmulAlgoGetHeuristic(lt, plan.desc, plan.layoutW, x,
                                           out, out, pref, count,
                                           results.data(), &found),
            "AlgoGetHeuristic");
    if (found == 0)
      return "cuBLASLt has no algorithm for " + describe(p);
    list.clear();
    for (int i = 0; i < found; ++i)
      list.push_back(results[size_t(i)].algo);
    return "";
  };
  auto ask = [&](cublasLtMatrixLayout_t x, cublasLtMatrixLayout_t out,
                 cublasLtMatmulAlgo_t &algo) -> std::string {
    std::vector<cublasLtMatmulAlgo_t> list;
    if (std::string e = askList(x, out, 1, list); !e.empty())
      return e;
    algo = list[0];
    return "";
  };
  // The bucket's answers (its own row count's layouts when that differs).
  auto askBucket = [&](int count, std::vector<cublasLtMatmulAlgo_t> &list) {
    if (bucketKey.m == p.m)
      return askList(plan.layoutX, plan.layoutOut, count, list);
    cublasLtMatrixLayout_t x = nullptr, out = nullptr;
    std::string e = "cuBLASLt layout for the row bucket";
    if (cublasLtMatrixLayoutCreate(&x, inType, uint64_t(p.k),
                                   uint64_t(bucketKey.m), p.lda) ==
            CUBLAS_STATUS_SUCCESS &&
        cublasLtMatrixLayoutCreate(&out, outType, uint64_t(p.n),
                                   uint64_t(bucketKey.m), p.ldo) ==
            CUBLAS_STATUS_SUCCESS)
      e = askList(x, out, count, list);
    if (x)
      cublasLtMatrixLayoutDestroy(x);
    if (out)
      cublasLtMatrixLayoutDestroy(out);
    return e;
  };

  // A tuned choice (setTuning, loadTuning): answer `rank` of the bucket's
  // list where it is still the recorded algorithm and fits this shape.
  // With tuning on and no entry, time the bucket's answers on this call's
  // operands (not while the stream is being captured) and record the
  // fastest.
  {
    Tuning &t = tuning();
    std::lock_guard<std::mutex> lock(t.mutex);
    std::string name = shapeName(bucketKey);
    auto entry = t.entries.find(name);
    if (entry != t.entries.end()) {
      const TuningEntry &e = entry->second;
      std::vector<cublasLtMatmulAlgo_t> list;
      if (askBucket(e.rank + 1, list).empty() && int(list.size()) > e.rank) {
        int id, tile, splitK;
        algoIdentity(list[size_t(e.rank)], id, tile, splitK);
        if (id == e.algoId && tile == e.tileId && splitK == e.splitK &&
            fits(list[size_t(e.rank)])) {
          plan.algo = list[size_t(e.rank)];
          return "";
        }
      }
    } else if (t.tune) {
      cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
      std::vector<cublasLtMatmulAlgo_t> list;
      if (cudaStreamIsCapturing(stream, &capture) == cudaSuccess &&
          capture == cudaStreamCaptureStatusNone &&
          askBucket(kTuneAnswers, list).empty() && fits(list[0])) {
        std::vector<bool> usable(list.size(), true); // the first fits
        for (size_t i = 1; i < list.size(); ++i)
          usable[i] = fits(list[i]);
        TuningEntry e;
        if (timeAnswers(lt, plan, p, list, usable, workspace, workspaceBytes,
                        stream, e)) {
          e.shape = name;
          t.entries[name] = e;
          plan.algo = list[size_t(e.rank)];
          return "";
        }
      }
    }
  }

  auto known = algos.find(bucketKey);
  if (known != algos.end() && fits(known->second)) {
    plan.algo = known->second;
    return "";
  }
  if (known == algos.end() && bucketKey.m != p.m) {
    std::vector<cublasLtMatmulAlgo_t> list;
    if (askBucket(1, list).empty()) {
      algos.emplace(bucketKey, list[0]);
      if (fits(list[0])) {
        plan.algo = list[0];
        return "";
      }
    }
  }
  if (std::string e = ask(plan.layoutX, plan.layoutOut, plan.algo); !e.empty())
    return e;
  if (bucketKey.m == p.m)
    algos.emplace(bucketKey, plan.algo);
  return "";
}
#undef LLMC_LT

Key keyOf(cublasLtHandle_t lt, size_t workspaceBytes, const MatmulNT &p) {
  return Key{lt,
             p.m,
             p.n,
             p.k,
             p.lda,
             p.ldb,
             p.ldo,
             int(p.outType),
             int(p.inType),
             p.bias != nullptr,
             !p.aScale ? 0 : p.bScalePerTensor ? 2 : 1,
             alignmentOf(p.a),
             alignmentOf(p.b),
             alignmentOf(p.out),
             p.bias ? alignmentOf(p.bias) : 256u,
             workspaceBytes};
}

std::string checkMatmul(const MatmulNT &p) {
  if (p.m <= 0 || p.n <= 0 || p.k <= 0)
    return "matmul with an empty dimension: " + describe(p);
  if (p.lda < p.k || p.ldb < p.k || p.ldo < p.n)
    return "matmul leading dimension smaller than the row: " + describe(p);
  if (p.bias && p.outType != OutType::BF16)
    return "matmul bias needs a bf16 output: " + describe(p);
  if ((p.aScale != nullptr) != (p.bScale != nullptr) ||
      (p.aScale && p.inType != InType::E4M3))
    return "matmul scales need E4M3 inputs and both scales: " + describe(p);
  if (p.inType == InType::E4M3 && !p.aScale && p.bias)
    return "an unscaled E4M3 matmul has no bias: " + describe(p);
  return "";
}

} // namespace

std::string matmulNT(cublasLtHandle_t lt, cudaStream_t stream, void *workspace,
                     size_t workspaceBytes, const MatmulNT &p) {
  if (std::string e = checkMatmul(p); !e.empty())
    return e;
  Key key = keyOf(lt, workspaceBytes, p);
  thread_local std::unordered_map<Key, std::unique_ptr<Plan>, KeyHash> cache;
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto plan = std::make_unique<Plan>();
    plan->error = buildPlan(lt, stream, workspace, workspaceBytes, p, key,
                            *plan);
    it = cache.emplace(key, std::move(plan)).first;
  }
  Plan &plan = *it->second;
  if (!plan.error.empty())
    return plan.error;
  if (std::string e = setPointers(plan, p); !e.empty())
    return e;
  const float alpha = 1.f, beta = 0.f;
  cublasStatus_t s = cublasLtMatmul(
      lt, plan.desc, &alpha, p.b, plan.layoutW, p.a, plan.layoutX, &beta,
      p.out, plan.layoutOut, p.out, plan.layoutOut, &plan.algo, workspace,
      workspaceBytes, stream);
  if (s != CUBLAS_STATUS_SUCCESS)
    return statusError("Matmul", s, p);
  return "";
}

std::vector<AlgoTime> timeHeuristicAlgos(cublasLtHandle_t lt,
                                         cudaStream_t stream, void *workspace,
                                         size_t workspaceBytes,
                                         const MatmulNT &p, int count,
                                         int reps, std::string &error) {
  std::vector<AlgoTime> out;
  if ((error = checkMatmul(p)).size())
    return out;
  Key key = keyOf(lt, workspaceBytes, p);
  Plan plan;
  if ((error = buildDescriptors(p, plan)).size())
    return out;
  cublasLtMatmulPreference_t pref = nullptr;
  if ((error = createPreference(workspaceBytes, key, p, pref)).size())
    return out;
  std::vector<cublasLtMatmulHeuristicResult_t> found(
      size_t(count > 0 ? count : 1));
  int n = 0;
  cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(
      lt, plan.desc, plan.layoutW, plan.layoutX, plan.layoutOut,
      plan.layoutOut, pref, int(found.size()), found.data(), &n);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS) {
    error = statusError("AlgoGetHeuristic", s, p);
    return out;
  }
  for (int i = 0; i < n; ++i) {
    AlgoTime t;
    t.rank = i;
    t.workspace = found[size_t(i)].workspaceSize;
    algoIdentity(found[size_t(i)].algo, t.algoId, t.tileId, t.splitK);
    if (t.workspace > workspaceBytes)
      t.status = "needs more workspace";
    else
      t.ms = timeAlgo(lt, plan, p, found[size_t(i)].algo, workspace,
                      workspaceBytes, stream, reps, t.status);
    out.push_back(t);
  }
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess)
    error = std::string("timing the algorithms: ") + cudaGetErrorString(e);
  return out;
}

void setTuning(bool tune) {
  Tuning &t = tuning();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.tune = tune;
}

namespace {
/// The device and cuBLASLt a table was tuned on: answers' ranks and
/// identities are theirs.
std::string tuningOrigin() {
  int dev = 0;
  cudaDeviceProp prop{};
  std::string name = "unknown device";
  if (cudaGetDevice(&dev) == cudaSuccess &&
      cudaGetDeviceProperties(&prop, dev) == cudaSuccess)
    name = prop.name;
  return name + ", cuBLASLt " + std::to_string(cublasLtGetVersion());
}
} // namespace

std::string loadTuning(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    return "cannot read the GEMM tuning table '" + path + "'";
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception &e) {
    return "GEMM tuning table '" + path + "' is not JSON: " + e.what();
  }
  if (!j.is_object() || !j.contains("origin") || !j["origin"].is_string() ||
      !j.contains("entries") || !j["entries"].is_array())
    return "GEMM tuning table '" + path +
           "' needs an \"origin\" string and an \"entries\" array";
  std::string origin = j["origin"], here = tuningOrigin();
  if (origin != here)
    return "GEMM tuning table '" + path + "' was tuned on " + origin +
           ", this is " + here + "; tune again with --tune-gemms";
  std::map<std::string, TuningEntry> entries;
  for (size_t i = 0; i < j["entries"].size(); ++i) {
    const nlohmann::json &e = j["entries"][i];
    TuningEntry t;
    try {
      t.shape = e.at("shape").get<std::string>();
      t.rank = e.at("rank").get<int>();
      t.algoId = e.at("algo").get<int>();
      t.tileId = e.at("tile").get<int>();
      t.splitK = e.at("split_k").get<int>();
      t.firstUs = e.value("first_us", 0.f);
      t.bestUs = e.value("best_us", 0.f);
    } catch (const std::exception &ex) {
      return "GEMM tuning table '" + path + "': entry " + std::to_string(i) +
             " needs shape, rank, algo, tile and split_k (" + ex.what() + ")";
    }
    if (t.rank < 0 || t.rank >= kTuneAnswers)
      return "GEMM tuning table '" + path + "': entry " + std::to_string(i) +
             " has rank " + std::to_string(t.rank) + ", outside [0, " +
             std::to_string(kTuneAnswers) + ")";
    entries[t.shape] = t;
  }
  Tuning &t = tuning();
  std::lock_guard<std::mutex> lock(t.mutex);
  for (auto &[name, e] : entries)
    t.entries[name] = e;
  return "";
}

std::string saveTuning(const std::string &path) {
  nlohmann::json j;
  j["origin"] = tuningOrigin();
  j["entries"] = nlohmann::json::array();
  for (const TuningEntry &e : tuningEntries())
    j["entries"].push_back({{"shape", e.shape},
                            {"rank", e.rank},
                            {"algo", e.algoId},
                            {"tile", e.tileId},
                            {"split_k", e.splitK},
                            {"first_us", e.firstUs},
                            {"best_us", e.bestUs}});
  // Written beside the target and renamed over it: ranks of several
  // processes saving one file never leave a torn table.
  std::string tmp = path + ".tmp" + std::to_string(uint64_t(getpid()));
  {
    std::ofstream out(tmp);
    if (!(out << j.dump(1) << "\n")) {
      std::remove(tmp.c_str());
      return "cannot write the GEMM tuning table '" + path + "'";
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return "cannot write the GEMM tuning table '" + path + "'";
  }
  return "";
}

std::vector<TuningEntry> tuningEntries() {
  Tuning &t = tuning();
  std::lock_guard<std::mutex> lock(t.mutex);
  std::vector<TuningEntry> out;
  for (auto &[name, e] : t.entries)
    out.push_back(e);
  return out;
}

} // namespace llmc::rt::gemm
