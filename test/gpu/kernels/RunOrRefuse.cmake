#===- RunOrRefuse.cmake - ctest driver of llmc-gpu-kernel-tests ------------===#
#
# Without a GPU the binary must refuse: "no CUDA device" and a non-zero exit.
# With one, the whole suite must pass.

execute_process(COMMAND ${BIN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if("${out}${err}" MATCHES "no CUDA device")
  if(rc EQUAL 0)
    message(FATAL_ERROR "said 'no CUDA device' but exited 0:\n${out}${err}")
  endif()
  message(STATUS "no GPU here; refused cleanly (exit ${rc}): ${err}")
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "GPU kernel tests failed (exit ${rc}):\n${out}${err}")
else()
  message(STATUS "${out}")
endif()
