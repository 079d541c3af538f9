# GEMM's kernel files (tensor/gemm_avx512.cpp, gemm_avx2.cpp, gemm_portable.cpp) must define
# no external symbol but their detail::GemmKernel table: an inline function with external
# linkage compiled with AVX-512 flags could be the copy the linker keeps for the whole
# program, and crash the other kernels on a CPU without AVX-512 (docs/GEMM.md, "The
# one-definition-rule trap"). Run by CTest with
#   -DNM=<nm> -DOBJECTS=<the library's object files, joined by |>
string(REPLACE "|" ";" objects "${OBJECTS}")
set(checked 0)
set(bad "")
foreach(obj IN LISTS objects)
  if(NOT obj MATCHES "gemm_(avx512|avx2|portable)\\.cpp\\.o(bj)?$")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND ${NM} --defined-only --extern-only -C ${obj}
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(tables 0)
  foreach(line IN LISTS lines)
    if(line STREQUAL "")
      continue()
    elseif(line MATCHES " minigrad::detail::kGemmKernel(Avx512|Avx2|Portable)$")
      math(EXPR tables "${tables} + 1")
    elseif(NOT line MATCHES "DW\\.ref\\.__gxx_personality_v0$")  # the exception ABI's own
      string(APPEND bad "\n  ${obj}: ${line}")
    endif()
  endforeach()
  if(NOT tables EQUAL 1)
    string(APPEND bad "\n  ${obj}: defines ${tables} kernel tables, not 1")
  endif()
endforeach()
if(NOT checked EQUAL 3)
  message(FATAL_ERROR "found ${checked} of the 3 GEMM kernel objects in: ${OBJECTS}")
endif()
if(bad)
  message(FATAL_ERROR "GEMM kernel files define external symbols besides their table:${bad}")
endif()
message(STATUS "3 GEMM kernel objects, each defines only its table")
