# A training example resumed from a checkpoint ends with the same bits as a run that
# never stopped:
#   EXE ARGS --steps STEPS --save full.safetensors
#   EXE ARGS --steps HALF  --save half.safetensors
#   EXE ARGS --steps STEPS --resume half.safetensors --save resumed.safetensors
# then full and resumed must be byte-identical files (weights, Adam's moments, the
# data generator and the step count all included).
# Run with -DEXE=... -DARGS="a;b" -DSTEPS=N -DHALF=M -DWORK_DIR=...
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run_example)
  execute_process(COMMAND ${EXE} ${ARGS} --out ${WORK_DIR}/out ${ARGN}
                  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} ${ARGS} ${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
endfunction()
run_example(--steps ${STEPS} --save ${WORK_DIR}/full.safetensors)
run_example(--steps ${HALF} --save ${WORK_DIR}/half.safetensors)
run_example(--steps ${STEPS} --resume ${WORK_DIR}/half.safetensors --save ${WORK_DIR}/resumed.safetensors)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/full.safetensors
                        ${WORK_DIR}/resumed.safetensors RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "${EXE}: resuming at step ${HALF} of ${STEPS} did not reproduce the uninterrupted run")
endif()
file(SIZE ${WORK_DIR}/full.safetensors bytes)
message(STATUS "${EXE}: resumed at step ${HALF}, step ${STEPS} is identical (${bytes} bytes)")
