//===- Hardware.h - GPU hardware database for the planner -------*- C++ -*-===//
//
// What the cost model needs to know about a GPU and the node it sits in:
// memory, peak compute, HBM and link bandwidths, collective latencies and the
// efficiency factors that turn datasheet peaks into achievable rates. The
// built-in entries live in lib/plan/hardware.json (embedded at build time);
// users add or override entries with a file in the same format.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PLAN_HARDWARE_H
#define LLMC_PLAN_HARDWARE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// A GPU-to-GPU link class: inside a node (NVLink, PCIe) or between nodes.
struct LinkSpec {
  /// Human-readable name, e.g. "NVLink 4".
  std::string name;
  /// Peak bandwidth per GPU and per direction, bytes/s.
  double bytesPerSecond = 0;
  /// Fixed cost of one collective or point-to-point transfer, seconds.
  double latencySeconds = 0;
  /// Achieved fraction of `bytesPerSecond` for large collectives.
  double efficiency = 1;

  /// Seconds to move `bytes` (per rank, as counted by the cost model) in one
  /// operation: latency plus bytes at the achievable bandwidth.
  double seconds(double bytes) const {
    return latencySeconds + bytes / (bytesPerSecond * efficiency);
  }
};

/// One GPU model and its node, as read from the hardware database.
struct HardwareSpec {
  std::string name;
  std::vector<std::string> aliases;
  std::string description;
  /// Total HBM in bytes.
  double memoryBytes = 0;
  /// Fraction of `memoryBytes` a plan may use.
  double memoryUtilization = 0.9;
  /// Peak HBM bandwidth, bytes/s.
  double hbmBytesPerSecond = 0;
  /// Dense peak FLOP/s in bf16/fp16 and fp8 (0: no fp8 support).
  double bf16FlopsPerSecond = 0;
  double fp8FlopsPerSecond = 0;
  int64_t gpusPerNode = 8;
  LinkSpec intraNode;
  LinkSpec interNode;
  /// Achieved fractions of peak compute and HBM bandwidth.
  double computeEfficiency = 0.6;
  double hbmEfficiency = 0.8;
  /// Achieved fraction of the HBM bandwidth of attention's KV-cache reads
  /// and writes; the hbm efficiency unless the entry gives
  /// efficiency.attention.
  double attentionEfficiency = 0.8;
  /// Achieved fraction of peak FLOP/s of attention's FLOPs (QK^T and PV;
  /// what a long prefill spends in attention); the compute efficiency
  /// unless the entry gives efficiency.attention_compute.
  double attentionComputeEfficiency = 0.6;
  /// Launch gap and tail of one kernel of a decode step, which the binary
  /// replays as a CUDA graph: every launch of the step costs this once.
  double kernelLaunchSeconds = 0;
  /// The same for a kernel launched eagerly by the host, as the binary
  /// launches a prefill's (eager_launch_us; kernel_launch_us when absent).
  double eagerLaunchSeconds = 0;
  /// Rows at which half of the shorter of a GEMM's weight stream and its
  /// FLOPs hides under the longer (gemm_overlap_rows): a GEMM of M rows
  /// takes max(w, f) + min(w, f) * R / (M + R). 0 is the plain roofline.
  double gemmOverlapRows = 0;
  /// Fixed cost of one step (a prefill or a decode step) beyond its
  /// kernels: the graph launch, sampling, the host's wait for the token.
  double stepOverheadSeconds = 0;

  /// Bytes a plan may place on one GPU.
  double usableBytes() const { return memoryBytes * memoryUtilization; }
  /// Achievable FLOP/s for an element type of `bytes` bytes (1: fp8; 2:
  /// bf16/fp16; 4: fp32, which runs on TF32 tensor cores at half the bf16
  /// rate).
  double achievableFlops(int64_t elementBytes) const;
  /// Achievable HBM bytes/s.
  double achievableHbm() const { return hbmBytesPerSecond * hbmEfficiency; }
};

/// The built-in entries plus any added from files.
class HardwareDatabase {
public:
  /// The database holding the built-in entries (lib/plan/hardware.json).
  static HardwareDatabase builtin();

  /// Parses database text (the hardware.json format). `source` names the
  /// text in errors, e.g. the file path.
  static llvm::Expected<HardwareDatabase> parse(llvm::StringRef text,
                                                llvm::StringRef source);

  /// Adds the entries of the file at `path`; an entry whose name or alias
  /// equals a known name replaces that entry.
  llvm::Error addFile(llvm::StringRef path);
  /// Adds entries from text in the same way.
  llvm::Error addText(llvm::StringRef text, llvm::StringRef source);

  /// The entry called `name` (a name or an alias, case-insensitive); the
  /// error lists the known names.
  llvm::Expected<HardwareSpec> lookup(llvm::StringRef name) const;

  const std::vector<HardwareSpec> &entries() const { return specs; }
  /// Known names, comma-separated, for diagnostics.
  std::string knownNames() const;

private:
  std::vector<HardwareSpec> specs;
};

/// The hardware.json text compiled into the binary.
llvm::StringRef builtinHardwareJson();

} // namespace llmc

#endif // LLMC_PLAN_HARDWARE_H
