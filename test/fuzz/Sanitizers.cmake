#===- test/fuzz/Sanitizers.cmake - sanitizer and libFuzzer build options ---===#
#
# Included by the top-level CMakeLists.txt before any target is defined, so
# the flags reach every llmc library, tool and test (not the prebuilt
# MLIR/LLVM libraries, which stay uninstrumented; that is enough to check
# llmc's own code).
#
#   -DLLMC_SANITIZE=address,undefined   -fsanitize= checks for llmc's code
#                                       (gcc or clang); every report aborts
#                                       (-fno-sanitize-recover=all)
#   -DLLMC_BUILD_FUZZERS=ON             the libFuzzer targets of test/fuzz
#                                       (clang only: clang-22 and
#                                       libclang-rt-22-dev on Debian 12)
#
# With fuzzers on, every llmc target also gets -fsanitize=fuzzer-no-link so
# libFuzzer sees the coverage of the code under test, not just of the
# harness; the tools and unit tests of such a build run normally (the
# sanitizer runtime provides the coverage callbacks). test/fuzz/README.md
# and .ci/sanitizers.sh show the whole flow.
#
#===----------------------------------------------------------------------===#

set(LLMC_SANITIZE "" CACHE STRING
    "Comma-separated -fsanitize= checks for llmc's own code, e.g. address,undefined")
option(LLMC_BUILD_FUZZERS "Build the libFuzzer targets in test/fuzz (clang)" OFF)

set(LLMC_SANITIZE_CHECKS ${LLMC_SANITIZE})
if(LLMC_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR
      "LLMC_BUILD_FUZZERS needs clang for libFuzzer; configure with "
      "-DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 "
      "(Debian packages clang-22 and libclang-rt-22-dev)")
  endif()
  if(LLMC_SANITIZE_CHECKS)
    set(LLMC_SANITIZE_CHECKS "fuzzer-no-link,${LLMC_SANITIZE_CHECKS}")
  else()
    set(LLMC_SANITIZE_CHECKS "fuzzer-no-link")
  endif()
endif()

if(LLMC_SANITIZE_CHECKS)
  message(STATUS "llmc sanitizers: -fsanitize=${LLMC_SANITIZE_CHECKS}")
  # C and C++ only: nvcc does not take these flags (the sanitizer scripts
  # build with -DLLMC_ENABLE_CUDA=OFF anyway).
  add_compile_options(
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${LLMC_SANITIZE_CHECKS}>"
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fno-sanitize-recover=all>"
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fno-omit-frame-pointer>")
  add_link_options("-fsanitize=${LLMC_SANITIZE_CHECKS}")
  if(LLMC_SANITIZE_CHECKS MATCHES "address")
    # See the header: LLVM's inline allocators must not poison memory in
    # llmc's files while the prebuilt libraries' copies do not.
    add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/AsanWithPrebuiltLLVM.h>")
  endif()
endif()
