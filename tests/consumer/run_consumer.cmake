# ctest driver for the consumer project:
#   cmake -DMODE=find_package|add_subdirectory|fetch_content -DISOLATE_SOURCE=<src>
#         -DISOLATE_BUILD=<build tree> -DWORK=<scratch dir> -P run_consumer.cmake
# add_subdirectory builds isolate as a shared library (BUILD_SHARED_LIBS=ON): a public entity
# the consumer uses but the library does not export fails to link there.
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

# No build type (no optimisation, no debug info): these builds check how a project gets isolate,
# not how fast it runs, and the two that compile the library from source take half the time.
set(args -G Ninja -DCONSUMER_MODE=${MODE} -DCMAKE_BUILD_TYPE=)
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${ISOLATE_BUILD} --prefix ${WORK}/prefix)
  list(APPEND args -DCMAKE_PREFIX_PATH=${WORK}/prefix)
else()
  # As a unity build (CMAKE_UNITY_BUILD): a supported way to build the library, and a shorter one.
  list(APPEND args -DISOLATE_SOURCE_DIR=${ISOLATE_SOURCE} -DCMAKE_UNITY_BUILD=ON)
endif()
if(MODE STREQUAL "add_subdirectory")
  list(APPEND args -DBUILD_SHARED_LIBS=ON)
endif()
run(${CMAKE_COMMAND} -S ${ISOLATE_SOURCE}/tests/consumer -B ${WORK}/build ${args})
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
