#===- CompileModel.cmake - build one model binary and check it -------------===#
#
# cmake -DLLM_IMPORT=... -DLLM_COMPILE=... -DMODEL=config.json -DWORK=dir
#       -DSHARD=tp2,pp2 -DMICROBATCHES=1 -DTARGET=h100 -DARCH=sm_90a
#       -DRANKS=4 -DSTAGES=2 [-DQUANTIZE=fp8] [-DTOKENIZER=dir]
#       -P CompileModel.cmake
#
# Imports MODEL, runs llm-compile (nvcc included), checks manifest.json
# against the plan and the target (with QUANTIZE, --quantize and the FP8
# weights' dtype and scales), and runs the binary: without a GPU it
# must refuse with "no CUDA device" and a non-zero exit; with one it must
# generate. With TOKENIZER (compiled in with llm-compile --tokenizer), the
# text flags too: every refusal of a bad tokenizer folder, chat or prompt
# length comes before any GPU work, and a good --text reaches the GPU.
#
#===----------------------------------------------------------------------===#

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

execute_process(COMMAND "${LLM_IMPORT}" "${MODEL}" -o "${WORK}/model.mlir"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "llm-import ${MODEL} failed (${rc}):\n${err}")
endif()

set(quantizeFlag "")
if(QUANTIZE)
  set(quantizeFlag "--quantize=${QUANTIZE}")
endif()
set(tokenizerFlag "")
if(TOKENIZER)
  set(tokenizerFlag "--tokenizer=${TOKENIZER}")
endif()
execute_process(COMMAND "${LLM_COMPILE}" "${WORK}/model.mlir" ${quantizeFlag}
  ${tokenizerFlag}
  "--shard=${SHARD}" "--microbatches=${MICROBATCHES}" "--target=${TARGET}"
  --max-batch=4 --max-seq=64 -o "${WORK}/out"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "llm-compile --shard=${SHARD} --target=${TARGET} "
          "failed (${rc}):\n${out}${err}")
endif()
set(binary "${WORK}/out/llm-model")
if(NOT EXISTS "${binary}" OR IS_DIRECTORY "${binary}")
  message(FATAL_ERROR "llm-compile succeeded but wrote no ${binary}")
endif()

# manifest.json: the plan, grid, target and per-stage facts.
file(READ "${WORK}/out/manifest.json" manifest)
function(expect what actual wanted)
  if(NOT "${actual}" STREQUAL "${wanted}")
    message(FATAL_ERROR "manifest.json: ${what} is '${actual}', expected "
            "'${wanted}'")
  endif()
endfunction()
string(JSON format GET "${manifest}" format)
expect("format" "${format}" 2)
string(JSON arch GET "${manifest}" target arch)
expect("target.arch" "${arch}" "${ARCH}")
string(JSON name GET "${manifest}" target name)
expect("target.name" "${name}" "${TARGET}")
string(JSON micro GET "${manifest}" plan microbatches)
expect("plan.microbatches" "${micro}" "${MICROBATCHES}")
string(JSON axes LENGTH "${manifest}" plan shape)
set(ranks 1)
if(axes GREATER 0)
  math(EXPR last "${axes} - 1")
  foreach(i RANGE ${last})
    string(JSON degree GET "${manifest}" plan shape ${i})
    math(EXPR ranks "${ranks} * ${degree}")
  endforeach()
endif()
expect("the number of ranks (product of plan.shape)" "${ranks}" "${RANKS}")
string(JSON stages LENGTH "${manifest}" kv_cache slots_per_stage)
expect("the length of kv_cache.slots_per_stage" "${stages}" "${STAGES}")
string(JSON weights LENGTH "${manifest}" weights)
if(weights LESS 1)
  message(FATAL_ERROR "manifest.json lists no weights")
endif()
math(EXPR lastWeight "${weights} - 1")
foreach(i RANGE ${lastWeight})
  string(JSON used LENGTH "${manifest}" weights ${i} stages)
  if(used LESS 1)
    string(JSON w GET "${manifest}" weights ${i} name)
    message(FATAL_ERROR "manifest.json: weight '${w}' is used by no stage")
  endif()
endforeach()
# FP8: every f8e4m3 weight names an f32 scale entry; there is at least one.
set(fp8 0)
foreach(i RANGE ${lastWeight})
  string(JSON dtype GET "${manifest}" weights ${i} dtype)
  if(dtype STREQUAL "f8e4m3")
    math(EXPR fp8 "${fp8} + 1")
    string(JSON scale GET "${manifest}" weights ${i} scale)
    if(NOT manifest MATCHES "\"name\": \"${scale}\",[ \n]*\"dtype\": \"f32\"")
      message(FATAL_ERROR "manifest.json: scale '${scale}' of weight ${i} "
              "is not an f32 entry")
    endif()
  endif()
endforeach()
if(QUANTIZE AND fp8 EQUAL 0)
  message(FATAL_ERROR "manifest.json: --quantize=${QUANTIZE} but no f8e4m3 "
          "weight")
elseif(NOT QUANTIZE AND fp8 GREATER 0)
  message(FATAL_ERROR "manifest.json: f8e4m3 weights without --quantize")
endif()
# The FP8 KV cache: kv_cache.dtype is f8e4m3 exactly when kv-fp8 is asked.
string(JSON kvDtype GET "${manifest}" kv_cache dtype)
set(wantKv "bf16")
if(QUANTIZE MATCHES "(^|,)kv-fp8(,|$)")
  set(wantKv "f8e4m3")
endif()
expect("kv_cache.dtype" "${kvDtype}" "${wantKv}")
string(JSON arena GET "${manifest}" arena_bytes)
if(arena LESS_EQUAL 0)
  message(FATAL_ERROR "manifest.json: arena_bytes is ${arena}")
endif()

# The binary: two prompts (a batch that splits over dp/ep replicas and
# micro-batches), every rank of the plan in this process.
execute_process(COMMAND "${binary}" --weights=random:7 "--prompt=1,2,3;4,5,6"
  --max-new-tokens=2 --emulate-ranks
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(have_gpu OFF)
if(rc EQUAL 0)
  set(have_gpu ON)
  message("${out}")
  message(STATUS "a GPU is present: ${binary} generated")
elseif(NOT "${err}" MATCHES "no CUDA device")
  message(FATAL_ERROR "${binary} failed (${rc}) without saying "
          "'no CUDA device':\n${out}${err}")
else()
  message(STATUS "${binary} refused cleanly (${rc}): ${err}")
endif()

# --text without a tokenizer beside the binary: one message naming the file.
if(NOT TOKENIZER)
  execute_process(COMMAND "${binary}" --weights=random --text=hi
    --emulate-ranks RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT "${err}" MATCHES
     "--text/--chat need the checkpoint's tokenizer, but [^\n]*/out/tokenizer.json does not exist")
    message(FATAL_ERROR "${binary} --text=hi without a tokenizer: expected "
            "a refusal naming out/tokenizer.json, got ${rc}:\n${out}${err}")
  endif()
endif()

# The text flags (issue 16), each refusal before the GPU is looked for.
function(expect_refusal pattern)
  execute_process(COMMAND "${binary}" --weights=random --emulate-ranks
    ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT "${err}" MATCHES "${pattern}" OR
     "${err}" MATCHES "no CUDA device")
    message(FATAL_ERROR "${binary} ${ARGN}: expected a refusal matching "
            "'${pattern}' before any GPU work, got ${rc}:\n${out}${err}")
  endif()
endfunction()
if(TOKENIZER)
  foreach(f tokenizer.json tokenizer_config.json chat_template.jinja)
    if(NOT EXISTS "${WORK}/out/${f}")
      message(FATAL_ERROR "llm-compile --tokenizer=${TOKENIZER} copied no "
              "${f} beside the binary")
    endif()
  endforeach()
  file(MAKE_DIRECTORY "${WORK}/empty")
  expect_refusal(
    "--tokenizer=[^\n]*/empty: [^\n]*/empty/tokenizer.json: cannot open"
    --text=hi "--tokenizer=${WORK}/empty")
  file(MAKE_DIRECTORY "${WORK}/truncated")
  file(READ "${TOKENIZER}/tokenizer.json" tok LIMIT 300)
  file(WRITE "${WORK}/truncated/tokenizer.json" "${tok}")
  expect_refusal("truncated/tokenizer.json: not valid JSON" --text=hi
                 "--tokenizer=${WORK}/truncated")
  string(REPEAT "xyz " 100 long)
  expect_refusal(
    "the prompt is [0-9]+ tokens; the model's context is 64 \\(limits.max_seq"
    "--text=${long}")
  expect_refusal(
    "the prompt's [0-9]+ tokens plus 80 new ones need [0-9]+ positions"
    --text=hi --max-new-tokens=80)
  expect_refusal("--chat: " "--chat=[{\"role\": ")
  expect_refusal("--chat=@[^\n]*missing.json: cannot open the file"
                 "--chat=@${WORK}/missing.json")
  expect_refusal("--temperature must be in \\[0, 2\\], got 3" --text=hi
                 --temperature=3)
  expect_refusal("--prompt excludes --text and --chat" --text=hi --prompt=1)
  execute_process(COMMAND "${binary}" serve --weights=random
    "--tokenizer=${WORK}/empty" --port=0 --host=127.0.0.1
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  if(rc EQUAL 0 OR NOT "${err}" MATCHES "empty/tokenizer.json: cannot open")
    message(FATAL_ERROR "${binary} serve --tokenizer=<empty folder>: "
            "expected a refusal naming tokenizer.json, got ${rc}:\n"
            "${out}${err}")
  endif()
  # A good prompt, the tokenizer found beside the binary: it generates with
  # a GPU, or gets as far as looking for one.
  foreach(prompt "--text=Hello there"
                 "--chat=[{\"role\": \"user\", \"content\": \"Hi\"}]")
    execute_process(COMMAND "${binary}" --weights=random:7 "${prompt}"
      --max-new-tokens=4 --emulate-ranks
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(have_gpu AND NOT rc EQUAL 0)
      message(FATAL_ERROR "${binary} ${prompt} failed (${rc}):\n${out}${err}")
    elseif(NOT have_gpu AND NOT "${err}" MATCHES "no CUDA device")
      message(FATAL_ERROR "${binary} ${prompt}: expected to reach the GPU "
              "check ('no CUDA device'), got ${rc}:\n${out}${err}")
    endif()
  endforeach()
endif()

# The serving path (runtime/generate/Serve.cpp, linked into every binary):
# `serve` parses its flags, refuses generation flags, and without a GPU
# refuses with "no CUDA device" before binding a port (with a GPU it would
# serve: test/gpu/serve checks that).
execute_process(COMMAND "${binary}" serve --weights=random --prompt=1
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT "${err}" MATCHES "--prompt sets up one generation")
  message(FATAL_ERROR "${binary} serve --prompt=1: expected exit 2 naming "
          "--prompt, got ${rc}:\n${out}${err}")
endif()
if(have_gpu)
  return()
endif()
execute_process(COMMAND "${binary}" serve --weights=random --port=0
  --host=127.0.0.1 --block-size=16 --emulate-ranks
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(rc EQUAL 0)
  message(FATAL_ERROR "${binary} serve exited 0 without a signal:\n${out}")
elseif(NOT "${err}" MATCHES "no CUDA device")
  message(FATAL_ERROR "${binary} serve failed (${rc}) without saying "
          "'no CUDA device':\n${out}${err}")
else()
  message(STATUS "${binary} serve refused cleanly (${rc}): ${err}")
endif()
