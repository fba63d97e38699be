//===- Inject.cpp - every kernel's GPU start and end, overlaps kept (CUPTI) -===//
//
// A CUDA injection library (libllmc-timeline.so): with
//   CUDA_INJECTION64_PATH=/path/libllmc-timeline.so LLMC_TIMELINE_OUT=t.csv
// the CUDA driver loads it at initialisation and calls InitializeInjection,
// which turns on CUPTI's concurrent-kernel activity records. Unlike Nsight
// Compute, which serialises kernels to measure them one at a time, these
// records leave concurrency alone: a kernel launched with programmatic
// dependent launch starts before its predecessor ends, as it does in the
// real run, CUDA-graph replays included. At exit every record is written
// to LLMC_TIMELINE_OUT (default llmc-timeline.csv), a line per kernel in
// GPU-time order:
//   start_ns,end_ns,stream,graph,grid_x,grid_y,grid_z,block_x,name
// (name demangled, in double quotes). bench/timeline.py turns that into
// the per-step attribution. Nothing of llmc links this; it needs CUPTI
// (libcupti.so of the toolkit it was built with) on the library path.
//
//===----------------------------------------------------------------------===//

#include <cupti.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct Kernel {
  uint64_t start, end;
  uint32_t stream, graph;
  int32_t gridX, gridY, gridZ, blockX;
  std::string name;
};

std::mutex gMutex;
std::vector<Kernel> gKernels;
size_t gDropped = 0;
constexpr size_t kBufferBytes = size_t(8) << 20;

std::string demangle(const char *name) {
  if (!name)
    return "?";
  int status = 0;
  char *d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : name;
  std::free(d);
  for (char &c : s)
    if (c == '"')
      c = '\'';
  return s;
}

void CUPTIAPI bufferRequested(uint8_t **buffer, size_t *size,
                              size_t *maxNumRecords) {
  *buffer = static_cast<uint8_t *>(std::aligned_alloc(8, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *maxNumRecords = 0;
}

void CUPTIAPI bufferCompleted(CUcontext, uint32_t streamId, uint8_t *buffer,
                              size_t, size_t validSize) {
  CUpti_Activity *record = nullptr;
  std::vector<Kernel> got;
  while (cuptiActivityGetNextRecord(buffer, validSize, &record) ==
         CUPTI_SUCCESS) {
    if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL &&
        record->kind != CUPTI_ACTIVITY_KIND_KERNEL)
      continue;
    auto *k = reinterpret_cast<const CUpti_ActivityKernel10 *>(record);
    got.push_back(Kernel{k->start, k->end, k->streamId, k->graphId, k->gridX,
                         k->gridY, k->gridZ, k->blockX, demangle(k->name)});
  }
  size_t dropped = 0;
  cuptiActivityGetNumDroppedRecords(nullptr, streamId, &dropped);
  std::free(buffer);
  std::lock_guard<std::mutex> lock(gMutex);
  gDropped += dropped;
  for (Kernel &k : got)
    gKernels.push_back(std::move(k));
}

void writeOut() {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(gMutex);
  const char *path = std::getenv("LLMC_TIMELINE_OUT");
  if (!path || !*path)
    path = "llmc-timeline.csv";
  std::FILE *f = std::fopen(path, "w");
  if (!f) {
    std::fprintf(stderr, "llmc-timeline: cannot write %s\n", path);
    return;
  }
  std::sort(gKernels.begin(), gKernels.end(),
            [](const Kernel &a, const Kernel &b) { return a.start < b.start; });
  std::fprintf(f, "start_ns,end_ns,stream,graph,grid_x,grid_y,grid_z,"
                  "block_x,name\n");
  for (const Kernel &k : gKernels)
    std::fprintf(f, "%llu,%llu,%u,%u,%d,%d,%d,%d,\"%s\"\n",
                 (unsigned long long)k.start, (unsigned long long)k.end,
                 k.stream, k.graph, k.gridX, k.gridY, k.gridZ, k.blockX,
                 k.name.c_str());
  std::fclose(f);
  std::fprintf(stderr, "llmc-timeline: %zu kernels to %s (%zu dropped)\n",
               gKernels.size(), path, gDropped);
}

} // namespace

/// Called by the CUDA driver (CUDA_INJECTION64_PATH) once, at cuInit.
extern "C" int InitializeInjection(void) {
  if (cuptiActivityRegisterCallbacks(bufferRequested, bufferCompleted) !=
          CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) !=
          CUPTI_SUCCESS) {
    std::fprintf(stderr, "llmc-timeline: CUPTI refused kernel activity\n");
    return 0;
  }
  std::atexit(writeOut);
  return 1;
}
