# Script behind the install_find_package test (cmake -P): install the build tree into a fresh
# prefix, then build and run the consumer project against it, the way a user would.
# Inputs: CONTINUA_BUILD_DIR CONTINUA_VERSION CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER
#         BUILD_TYPE (may be empty).
cmake_minimum_required(VERSION 3.25)

foreach(var CONTINUA_BUILD_DIR CONTINUA_VERSION CONSUMER_SOURCE_DIR WORK_DIR GENERATOR
            CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_and_consume.cmake: -D${var}=... is required")
  endif()
endforeach()
if("${BUILD_TYPE}" STREQUAL "")
  set(BUILD_TYPE Release)
endif()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
# A stale prefix could hide a broken install rule, so every run starts empty.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("cmake --install" ${CMAKE_COMMAND} --install ${CONTINUA_BUILD_DIR} --prefix ${prefix}
         --config ${BUILD_TYPE})

foreach(f include/continua/config.hpp include/continua/core.hpp
          share/cmake/continua/continua-config.cmake
          share/cmake/continua/continua-config-version.cmake
          share/cmake/continua/continua-targets.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "installed tree lacks ${f}")
  endif()
endforeach()

# CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF and the prefix first: only the installed copy may satisfy
# find_package, never the build tree or another installation.
set(common_args -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCONTINUA_EXPECTED_PREFIX=${prefix}
    -DCONTINUA_EXPECTED_VERSION=${CONTINUA_VERSION})

run_step("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build}
         ${common_args})
run_step("build consumer" ${CMAKE_COMMAND} --build ${consumer_build} --config ${BUILD_TYPE})

find_program(consumer_exe NAMES consumer PATHS ${consumer_build} ${consumer_build}/${BUILD_TYPE}
             NO_DEFAULT_PATH REQUIRED)
run_step("run consumer" ${consumer_exe})
message(STATUS "consumer output:\n${step_output}")

# The version file must refuse an incompatible request (SameMinorVersion: 0.1.x only).
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR}
                        -B ${WORK_DIR}/consumer-wrong-version ${common_args}
                        -DCONSUMER_REQUIRED_VERSION=0.2
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(continua 0.2 CONFIG REQUIRED) accepted version "
                      "${CONTINUA_VERSION}:\n${out}")
endif()
if(NOT err MATCHES "compatible with requested version \"0.2\"")
  message(FATAL_ERROR "find_package(continua 0.2) failed, but not on the version check:\n${err}")
endif()
message(STATUS "version 0.2 rejected: ok")
