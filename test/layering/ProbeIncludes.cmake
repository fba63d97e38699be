#===- ProbeIncludes.cmake - runtime sources cannot include the compiler ----===#
#
# cmake -DBUILD_DIR=... -DPROBES=target=header,... -P ProbeIncludes.cmake
#
# Builds each probe target (runtime/CMakeLists.txt: one source each,
# compiled in runtime/'s scope with every runtime library's usage
# requirements) and passes only if every build fails because the compiler
# cannot find the probe's header (gcc: "HEADER: No such file or directory",
# clang: "'HEADER' file not found"). Any other outcome -- a build that
# succeeds, or fails for another reason -- fails the test and shows the
# output. The control probe (RuntimeHeaders.cpp) is part of the normal
# build, so the flags do compile runtime code.
#
#===----------------------------------------------------------------------===#

set(failures "")
string(REPLACE "," ";" PROBES "${PROBES}")
foreach(probe IN LISTS PROBES)
  string(REPLACE "=" ";" parts "${probe}")
  list(GET parts 0 target)
  list(GET parts 1 header)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target ${target}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REPLACE "." "\\." pattern "${header}")
  if(rc EQUAL 0)
    string(APPEND failures
      "${target}: a runtime source including ${header} compiled; the "
      "runtime's include paths reach the compiler's\n")
  elseif(NOT out MATCHES "(${pattern}: No such file or directory|'${pattern}' file not found)")
    string(APPEND failures
      "${target}: the build failed, but not because ${header} is missing:\n"
      "${out}\n")
  else()
    message(STATUS "${target}: ${header} is not reachable from the runtime")
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "${failures}")
endif()
