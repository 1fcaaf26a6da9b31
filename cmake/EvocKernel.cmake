# evoc_add_kernel: compile a model into a static library at build time (the tfcompile
# `tf_library` idea, in CMake).
#
#   include(EvocKernel)   # or include(path/to/evoc/cmake/EvocKernel.cmake)
#   evoc_add_kernel(iris_kernel MODEL models/iris.evir NAME iris)
#   target_link_libraries(service PRIVATE iris_kernel)
#   // service.cpp: #include "iris.h"  ...  iris(x, n, IRIS_N_IN, y, IRIS_N_OUT);
#
# evoc_add_kernel(<target> MODEL <file.evir> [NAME <symbol>] [MCPU <cpu>] [TARGET <triple>]
#                 [OPT <0..3>] [FAST_MATH])
#   MODEL   the model; the kernel is rebuilt when it changes
#   NAME    the kernel's C symbol and header name (<NAME>.h); default: <target>
#   MCPU    target CPU (default: the CPU of the build machine; give e.g. x86-64-v3 to deploy elsewhere)
#   TARGET  target triple (default: the build machine's)
#   OPT     LLVM optimisation level (default 2)
# The library holds one object file with no undefined symbols: linking it pulls in nothing of
# evoc, LLVM or the C math library. The compiler is the `evoc` target of the current build when
# there is one, otherwise the program named by EVOC_EXECUTABLE (by default `evoc` on PATH).
include_guard(GLOBAL)

function(evoc_add_kernel target)
  cmake_parse_arguments(K "FAST_MATH" "MODEL;NAME;MCPU;TARGET;OPT" "" ${ARGN})
  if(NOT K_MODEL)
    message(FATAL_ERROR "evoc_add_kernel(${target}): MODEL <file.evir> is required")
  endif()
  if(K_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "evoc_add_kernel(${target}): unexpected arguments: ${K_UNPARSED_ARGUMENTS}")
  endif()
  get_filename_component(model "${K_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT K_NAME)
    set(K_NAME ${target})
  endif()
  if(TARGET evoc)
    set(evoc_command $<TARGET_FILE:evoc>)
    set(evoc_dependency evoc)
  else()
    find_program(EVOC_EXECUTABLE evoc)
    if(NOT EVOC_EXECUTABLE)
      message(FATAL_ERROR "evoc_add_kernel(${target}): no evoc target and no evoc program; set EVOC_EXECUTABLE")
    endif()
    set(evoc_command ${EVOC_EXECUTABLE})
    set(evoc_dependency ${EVOC_EXECUTABLE})
  endif()

  set(options --name ${K_NAME})
  if(K_MCPU)
    list(APPEND options --mcpu ${K_MCPU})
  endif()
  if(K_TARGET)
    list(APPEND options --target ${K_TARGET})
  endif()
  if(NOT "${K_OPT}" STREQUAL "")
    list(APPEND options -O ${K_OPT})
  endif()
  if(K_FAST_MATH)
    list(APPEND options --fast-math)
  endif()

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${target}.kernel)
  set(object ${dir}/${K_NAME}.o)
  set(header ${dir}/${K_NAME}.h)
  add_custom_command(
    OUTPUT ${object} ${header}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${evoc_command} compile ${model} --emit=obj -o ${object} ${options}
    COMMAND ${evoc_command} compile ${model} --emit=header -o ${header} --name ${K_NAME}
    DEPENDS ${model} ${evoc_dependency}
    COMMENT "evoc: compiling ${K_MODEL} into kernel ${K_NAME}"
    VERBATIM)
  set_source_files_properties(${object} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  add_library(${target} STATIC ${object} ${header})
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C)
  target_include_directories(${target} INTERFACE ${dir})
endfunction()
