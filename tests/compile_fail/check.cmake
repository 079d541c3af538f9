# The compile-failure test: every line of must_not_compile.txt must fail to
# compile, and every line of must_compile.txt must compile, each alone, with the
# compiler and include path of the build. Run by ctest as `compile_fail`:
#
#   cmake -DCXX=<compiler> -DINCLUDE_DIR=<build>/include -DWORK_DIR=<scratch>
#         -DLIST_DIR=<this folder> -P check.cmake
#
# A line is a statement in the body of a function that follows this prelude, so
# snippets may use gen, q, k, v, mask and mha:
set(prelude [=[
using namespace minigrad;
[[maybe_unused]] static void snippet() {
  Generator gen(1);
  Variable q(Tensor::zeros({2, 3, 8})), k(Tensor::zeros({2, 4, 8})), v(Tensor::zeros({2, 4, 8}));
  Tensor mask = Tensor::zeros({2, 4}, DType::Bool);
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  (void)gen, (void)q, (void)k, (void)v, (void)mask;
]=])

foreach(var CXX INCLUDE_DIR WORK_DIR LIST_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compile_fail: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# The snippets of a list file: its lines, without comments (#...) and blank lines.
# A ';' inside a line is kept as @SEMICOLON@ while the lines are a CMake list.
function(read_snippets file out)
  file(READ ${file} text)
  string(REPLACE ";" "@SEMICOLON@" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(snippets)
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    if(line STREQUAL "" OR line MATCHES "^#")
      continue()
    endif()
    list(APPEND snippets "${line}")
  endforeach()
  set(${out} "${snippets}" PARENT_SCOPE)
endfunction()

# minigrad.h once, precompiled: each snippet then costs a fraction of a second.
set(flags -std=c++20 -I${INCLUDE_DIR})
file(WRITE ${WORK_DIR}/minigrad_all.h "#include <minigrad/minigrad.h>\n")
execute_process(COMMAND ${CXX} ${flags} -x c++-header ${WORK_DIR}/minigrad_all.h
                        -o ${WORK_DIR}/minigrad_all.h.gch
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compile_fail: minigrad.h does not compile:\n${err}")
endif()

# Compiles one snippet (syntax and semantics, no code generation); sets `ok` and `log`.
function(try_snippet index snippet ok_var log_var)
  set(src ${WORK_DIR}/snippet_${index}.cpp)
  string(REPLACE "@SEMICOLON@" ";" snippet "${snippet}")
  file(WRITE ${src} "#include \"minigrad_all.h\"\n${prelude}  ${snippet}\n}\n")
  execute_process(COMMAND ${CXX} ${flags} -fsyntax-only -Winvalid-pch ${src}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    set(${ok_var} TRUE PARENT_SCOPE)
  else()
    set(${ok_var} FALSE PARENT_SCOPE)
  endif()
  set(${log_var} "${err}" PARENT_SCOPE)
endfunction()

set(failures 0)
set(index 0)
read_snippets(${LIST_DIR}/must_compile.txt controls)
read_snippets(${LIST_DIR}/must_not_compile.txt forbidden)
list(LENGTH controls n_controls)
list(LENGTH forbidden n_forbidden)
if(n_controls EQUAL 0 OR n_forbidden EQUAL 0)
  message(FATAL_ERROR "compile_fail: a list is empty (${n_controls} controls, ${n_forbidden} forbidden)")
endif()

foreach(snippet IN LISTS controls)
  math(EXPR index "${index} + 1")
  try_snippet(${index} "${snippet}" ok log)
  string(REPLACE "@SEMICOLON@" ";" snippet "${snippet}")
  if(ok)
    message(STATUS "compiles, as it must:      ${snippet}")
  else()
    message(STATUS "FAILS TO COMPILE (a positive control; the setup is broken): ${snippet}\n${log}")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()

foreach(snippet IN LISTS forbidden)
  math(EXPR index "${index} + 1")
  try_snippet(${index} "${snippet}" ok log)
  string(REPLACE "@SEMICOLON@" ";" snippet "${snippet}")
  if(ok)
    message(STATUS "COMPILES (it must not):    ${snippet}")
    math(EXPR failures "${failures} + 1")
  else()
    message(STATUS "does not compile, good:    ${snippet}")
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "compile_fail: ${failures} of ${index} snippets did the wrong thing")
endif()
message(STATUS "compile_fail: ${n_controls} controls compile, ${n_forbidden} forbidden snippets do not")
