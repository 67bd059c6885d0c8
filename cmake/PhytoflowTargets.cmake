# Helpers that give every phytoflow target the same standard, warnings and sanitizers.

function(phytoflow_target_defaults target)
  # Designated initialisers leave unnamed members at their defaults on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wno-missing-field-initializers)
  if(PHYTOFLOW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(PHYTOFLOW_SANITIZE)
    list(JOIN PHYTOFLOW_SANITIZE "," sanitizers)
    target_compile_options(${target} PRIVATE -fsanitize=${sanitizers} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${sanitizers})
  endif()
  if(PHYTOFLOW_BUILD_FUZZERS)
    # Coverage instrumentation for libFuzzer in every library the fuzzers link.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# phytoflow_add_library(NAME core SRCS a.cpp PUBLIC_DEPS ... PRIVATE_DEPS ...)
# creates phytoflow_<NAME> with alias phytoflow::<NAME>; includes are rooted at src/.
function(phytoflow_add_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target phytoflow_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  add_library(phytoflow::${ARG_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  phytoflow_target_defaults(${target})
endfunction()

# phytoflow_add_test(NAME reader/lst_reader_test SRCS ... DEPS ... LABELS unit)
# One executable per test file; the ctest name is the folder-qualified name.
function(phytoflow_add_test)
  if(NOT PHYTOFLOW_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  string(REPLACE "/" "_" target ${ARG_NAME})
  add_executable(${target} ${ARG_SRCS})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  phytoflow_target_defaults(${target})
  add_test(NAME ${ARG_NAME} COMMAND ${target} WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "PHYTOFLOW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# phytoflow_add_fuzzer(NAME lst_fuzz SRCS ... DEPS ...): a libFuzzer binary.
function(phytoflow_add_fuzzer)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer)
  target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer)
  phytoflow_target_defaults(${ARG_NAME})
endfunction()

# phytoflow_add_bench(NAME reader_bench SRCS ... DEPS ...): a Google Benchmark binary.
function(phytoflow_add_bench)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  phytoflow_target_defaults(${ARG_NAME})
endfunction()
