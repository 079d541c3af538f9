# The GPT of examples/gpt (model.{h,cpp}) as the library gpt_model. It depends on
# minigrad alone, so that both examples/CMakeLists.txt and bench/CMakeLists.txt can
# include this file (whichever comes first defines the target).
if(NOT TARGET gpt_model)
  get_filename_component(MINIGRAD_GPT_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
  add_library(gpt_model STATIC ${CMAKE_CURRENT_LIST_DIR}/model.cpp)
  # "examples/gpt/model.h", relative to the project root
  target_include_directories(gpt_model PUBLIC ${MINIGRAD_GPT_ROOT})
  target_link_libraries(gpt_model PUBLIC minigrad PRIVATE minigrad_flags)
endif()
