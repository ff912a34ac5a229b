# check_umbrella_includes.cmake — `#include <isolate/isolate.hpp>` must add no system header to
# those the standard and nlohmann headers it uses already bring (no <linux/futex.h>,
# <immintrin.h>, <sys/mman.h>, ...).
#
# Compiles two translation units with -H: one with the umbrella header; one (the baseline) with
# every <...> include that any isolate header reachable from the umbrella makes. Every header the
# first reaches must be an isolate header or one the baseline reaches too.
#
#   cmake -DCXX=... -DINCLUDES="dir1;dir2" -DWORK=dir -P check_umbrella_includes.cmake
cmake_minimum_required(VERSION 3.25)

function(included_headers source out)  # the headers `source` reaches (absolute paths)
  set(flags)
  foreach(dir ${INCLUDES})
    list(APPEND flags -I${dir})
  endforeach()
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -H ${flags} ${source}
                  RESULT_VARIABLE rc ERROR_VARIABLE trace OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cannot compile ${source}:\n${trace}")
  endif()
  string(REGEX MATCHALL "(^|\n)\\.+ [^\n]+" lines "${trace}")
  set(headers)
  foreach(line ${lines})
    string(REGEX REPLACE "^\n?\\.+ " "" path "${line}")
    file(REAL_PATH "${path}" path)
    list(APPEND headers "${path}")
  endforeach()
  list(REMOVE_DUPLICATES headers)
  set(${out} ${headers} PARENT_SCOPE)
endfunction()

file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/umbrella.cpp "#include <isolate/isolate.hpp>\n")
included_headers(${WORK}/umbrella.cpp reached)

# The baseline: every non-isolate <...> include of every isolate header the umbrella reaches.
set(baseline_includes)
foreach(header ${reached})
  if(header MATCHES "/isolate/[^/]+(/[^/]+)?\\.hpp$")
    file(STRINGS ${header} includes REGEX "^#include <")
    foreach(include ${includes})
      if(NOT include MATCHES "<isolate/")
        list(APPEND baseline_includes "${include}")
      endif()
    endforeach()
  endif()
endforeach()
list(REMOVE_DUPLICATES baseline_includes)
list(JOIN baseline_includes "\n" baseline_text)
file(WRITE ${WORK}/baseline.cpp "${baseline_text}\n")
included_headers(${WORK}/baseline.cpp baseline)

set(extra)
foreach(header ${reached})
  if(NOT header MATCHES "/isolate/" AND NOT header IN_LIST baseline)
    list(APPEND extra ${header})
  endif()
endforeach()
list(LENGTH reached reached_count)
list(LENGTH baseline baseline_count)
if(extra)
  list(JOIN extra "\n  " extra_text)
  message(FATAL_ERROR "isolate.hpp brings headers its standard and nlohmann includes do not:\n  ${extra_text}")
endif()
message(STATUS "isolate.hpp reaches ${reached_count} headers, none beyond the ${baseline_count} of its standard "
               "and nlohmann includes and its own")
