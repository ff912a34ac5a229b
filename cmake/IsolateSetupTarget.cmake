# isolate_setup_target(<target>): the one place that gives every target of this project (library,
# executables, tests, benchmarks, examples) the same language standard, warnings and sanitizers.
#
#   ISOLATE_WERROR    turn warnings into errors (CI sets it)
#   ISOLATE_SANITIZE  "" | "address,undefined" | "thread": instrument every target
include_guard(GLOBAL)

set(ISOLATE_SANITIZE "" CACHE STRING "Sanitizers for every target: '', 'address,undefined' or 'thread'")
option(ISOLATE_WERROR "Treat compiler warnings as errors" OFF)

function(isolate_setup_target target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  if(ISOLATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ISOLATE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${ISOLATE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${ISOLATE_SANITIZE})
  endif()
  if(ISOLATE_SANITIZE STREQUAL "thread")
    # ThreadSanitizer cannot model the stand-alone fence Asio puts around each handler's upcall
    # (g++: "atomic_thread_fence is not supported with -fsanitize=thread"); the handler queue's
    # mutex already orders a handler's memory. Every target gets it: one definition program-wide.
    target_compile_definitions(${target} PRIVATE BOOST_ASIO_DISABLE_FENCED_BLOCK)
  endif()
endfunction()
