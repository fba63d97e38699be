//===- AsanWithPrebuiltLLVM.h - ASan of llmc over uninstrumented LLVM -*- C++ -*-===//
//
// Force-included (-include) into every C++ file of an LLMC_SANITIZE=address
// build by Sanitizers.cmake.
//
// llmc is instrumented but Debian's MLIR/LLVM libraries are not. LLVM's
// BumpPtrAllocator and ArrayRecycler are inline header code that, in an
// instrumented translation unit, poison whole slabs and unpoison each
// allocation; the copies compiled into the prebuilt libraries do neither.
// Once the linker mixes the two, memory that MLIR allocated through the
// uninstrumented copy reads as poisoned to llmc's code and ASan reports a
// false use-after-poison (first seen in MLIRContext's constructor). Turning
// LLVM's manual poisoning off in llmc's files keeps the two copies in step;
// ASan's own heap, stack and global checks are unaffected.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TEST_FUZZ_ASANWITHPREBUILTLLVM_H
#define LLMC_TEST_FUZZ_ASANWITHPREBUILTLLVM_H

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
// Declares the real functions first, so later includes (llvm/Support/
// Compiler.h includes this header too) see only the no-op macros below.
#include <sanitizer/asan_interface.h>
#define __asan_poison_memory_region(addr, size) ((void)(addr), (void)(size))
#define __asan_unpoison_memory_region(addr, size) ((void)(addr), (void)(size))
#endif
#endif

#endif // LLMC_TEST_FUZZ_ASANWITHPREBUILTLLVM_H
