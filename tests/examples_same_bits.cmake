# A training example gives the same bits whatever happens around it. From one seed:
#   1. EXE ARGS --steps STEPS --threads 1 --save a         the reference run
#   2. EXE ARGS --steps STEPS --threads 1 --save b         run again: b = a
#   3. EXE ARGS --steps STEPS --threads 2 --save c         two OpenMP threads: c = a
#   4. EXE ARGS --steps HALF  --threads 1 --save half      stopped halfway, then
#      EXE ARGS --steps STEPS --threads 1 --resume half --save d      resumed: d = a
# The files are training checkpoints (nn::save_checkpoint): the weights, Adam's
# moments, the data generator and the step count, so equal files mean equal runs.
# ARGS should make the model big enough for its GEMMs to use both threads. An example
# that trains several models writes one checkpoint each, --save PATH's name plus a
# suffix before the extension (date_translation: a_lstm.safetensors and
# a_transformer.safetensors): SAVES lists the suffixes, and each file is compared.
# Run with -DEXE=... -DARGS="a;b" -DSTEPS=N -DHALF=M -DWORK_DIR=... [-DSAVES="_x;_y"]
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run_example)
  execute_process(COMMAND ${EXE} ${ARGS} --out ${WORK_DIR}/out ${ARGN}
                  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} ${ARGS} ${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
endfunction()
if(SAVES)
  set(suffixes ${SAVES})
else()
  set(suffixes "-")  # one file, PATH itself
endif()
function(expect_same run what)
  foreach(suffix IN LISTS suffixes)
    if(suffix STREQUAL "-")
      set(suffix "")
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/a${suffix}.safetensors
                            ${WORK_DIR}/${run}${suffix}.safetensors
                    RESULT_VARIABLE differ)
    if(NOT differ EQUAL 0)
      message(FATAL_ERROR "${EXE} ${ARGS}: ${what} did not give the bits of the reference run "
                          "(${run}${suffix}.safetensors)")
    endif()
  endforeach()
  message(STATUS "${what}: same bits")
endfunction()
run_example(--steps ${STEPS} --threads 1 --save ${WORK_DIR}/a.safetensors)
run_example(--steps ${STEPS} --threads 1 --save ${WORK_DIR}/b.safetensors)
expect_same(b "a second run")
run_example(--steps ${STEPS} --threads 2 --save ${WORK_DIR}/c.safetensors)
expect_same(c "two threads")
run_example(--steps ${HALF} --threads 1 --save ${WORK_DIR}/half.safetensors)
run_example(--steps ${STEPS} --threads 1 --resume ${WORK_DIR}/half.safetensors --save ${WORK_DIR}/d.safetensors)
expect_same(d "resuming at step ${HALF}")
