#===- RunEquivalence.cmake - import, shard and check one model and plan ----===#
#
# cmake -DLLM_IMPORT=... -DLLM_RUN=... -DMODEL=config.json -DWORK=out.mlir
#       -DSHARD=tp2,pp2 -DMICROBATCHES=1 -DPROMPT='ids|ids'
#       [-DQUANTIZE=w8a8-fp8,kv-fp8] -P RunEquivalence.cmake
#
#===----------------------------------------------------------------------===#

execute_process(COMMAND "${LLM_IMPORT}" "${MODEL}" -o "${WORK}"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "llm-import ${MODEL} failed (${rc}):\n${err}")
endif()

string(REPLACE "|" ";" prompt "${PROMPT}")
set(command "${LLM_RUN}" "${WORK}" "--shard=${SHARD}"
  "--microbatches=${MICROBATCHES}" --check --weights=random:7
  --max-new-tokens=8)
if(QUANTIZE)
  list(APPEND command "--quantize=${QUANTIZE}")
endif()
execute_process(COMMAND ${command} "--prompt=${prompt}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "llm-run --shard=${SHARD} --microbatches=${MICROBATCHES} "
          "--quantize=${QUANTIZE} --check failed (${rc})")
endif()
