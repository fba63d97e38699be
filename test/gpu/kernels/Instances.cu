//===- Instances.cu - the attention/RoPE shapes the kernel tests use -------===//
//
// Attention and RoPE are header templates (runtime/kernels/Attention.cuh,
// Rope.cuh) that each model instantiates for its own head_dim and GQA group
// (llm-compile writes the lines into the generated source). The tests are
// such a "model": every head_dim the kernels support is covered, with the
// groups the cases below use.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Attention.cuh"

namespace llmc::rt {

#define LLMC_ATTN(HD, G)                                                       \
  template void attention<HD, G>(Rank &, Act, Act, Act, Act, const Step &,     \
                                 const AttentionParams &, bool);               \
  template void ropeAttention<HD, G>(Rank &, Act, Act, Act, Act,               \
                                     const Step &, const RopeParams &,         \
                                     const AttentionParams &, bool);
#define LLMC_ROPE(HD)                                                          \
  template void rope<HD>(Rank &, Act, const Step &, const RopeParams &, int);

LLMC_ROPE(32)
LLMC_ROPE(64)
LLMC_ROPE(80)
LLMC_ROPE(96)
LLMC_ROPE(128)
LLMC_ROPE(256)
LLMC_ATTN(32, 1)
LLMC_ATTN(32, 4)
LLMC_ATTN(64, 1)
LLMC_ATTN(64, 4)
LLMC_ATTN(64, 8)
LLMC_ATTN(80, 2)
LLMC_ATTN(80, 5)
LLMC_ATTN(96, 3)
LLMC_ATTN(96, 8)
LLMC_ATTN(128, 1)
LLMC_ATTN(128, 4)
LLMC_ATTN(128, 7)
LLMC_ATTN(128, 8)
LLMC_ATTN(128, 32)
LLMC_ATTN(256, 2)
LLMC_ATTN(256, 8)

#undef LLMC_ATTN
#undef LLMC_ROPE

} // namespace llmc::rt
