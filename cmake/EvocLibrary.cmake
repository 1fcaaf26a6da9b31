# The evoc library as others use it: one shared libevoc (ir, passes, codegen, runtime; LLVM
# through the shared libLLVM, no LibTorch), its public headers, the `evoc` command, the
# evoc_add_kernel function, a CMake package (evocConfig.cmake, imported target evoc::runtime)
# and a pkg-config file (evoc.pc). Installed by `cmake --install build --prefix P`:
#
#   P/bin/evoc                                      every command; `train` runs evoc-train:
#   P/libexec/evoc/evoc-train                       the commands linked with the trainer (LibTorch)
#   P/lib/libevoc.so -> libevoc.so.<SOVERSION> -> libevoc.so.<VERSION>
#   P/include/evoc/evoc.h                           the C API
#   P/include/evoc/{runtime,codegen,ir}/...         the C++ API (evoc::Kernel) and what it includes
#   P/lib/cmake/evoc/evocConfig.cmake, evocConfigVersion.cmake, evocTargets.cmake, EvocKernel.cmake
#   P/lib/pkgconfig/evoc.pc
#
# The static layer libraries stay what the tools and tests link; libevoc is made of their objects
# (which are compiled position-independent for that).
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

# While the version is 0.x, a minor release may break the ABI: the SOVERSION is MAJOR.MINOR.
set(EVOC_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

set_target_properties(evoc_ir evoc_passes evoc_codegen evoc_runtime PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_library(evoc_shared SHARED
  $<TARGET_OBJECTS:evoc_ir> $<TARGET_OBJECTS:evoc_passes>
  $<TARGET_OBJECTS:evoc_codegen> $<TARGET_OBJECTS:evoc_runtime>)
set_target_properties(evoc_shared PROPERTIES
  OUTPUT_NAME evoc EXPORT_NAME runtime LINKER_LANGUAGE CXX
  VERSION ${PROJECT_VERSION} SOVERSION ${EVOC_SOVERSION})
target_include_directories(evoc_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/evoc>)
target_compile_features(evoc_shared PUBLIC cxx_std_20)
target_link_libraries(evoc_shared PRIVATE LLVM fmt::fmt Threads::Threads ${CMAKE_DL_LIBS})
add_library(evoc::runtime ALIAS evoc_shared)

# The public headers: evoc.h, the C++ runtime API and exactly the headers it includes (plus
# ir/error.h, the evoc::Error it throws).
set(EVOC_PUBLIC_HEADERS
  runtime/kernel.h runtime/postprocess.h codegen/options.h ir/module.h ir/ops.h ir/ops.def ir/error.h)
foreach(header ${EVOC_PUBLIC_HEADERS})
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/evoc/${dir})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/runtime/evoc.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/evoc)

install(TARGETS evoc_shared EXPORT evocTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/evoc)
install(TARGETS evoc EXPORT evocTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# `evoc train` runs it (tools/CMakeLists.txt); a program of evoc's own, not one for users' PATH.
if(TARGET evoc_train)
  install(TARGETS evoc_train RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/evoc)
endif()

set(EVOC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/evoc)
install(EXPORT evocTargets NAMESPACE evoc:: DESTINATION ${EVOC_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/evocConfig.cmake.in
  ${PROJECT_BINARY_DIR}/evocConfig.cmake INSTALL_DESTINATION ${EVOC_CMAKE_DIR} PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/evocConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/evocConfig.cmake ${PROJECT_BINARY_DIR}/evocConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/EvocKernel.cmake DESTINATION ${EVOC_CMAKE_DIR})

# Relocatable: the prefix is found from where the .pc file lies, so `--install --prefix P` works.
file(RELATIVE_PATH EVOC_PC_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" EVOC_PC_PREFIX "${EVOC_PC_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/evoc.pc.in ${PROJECT_BINARY_DIR}/evoc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/evoc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
