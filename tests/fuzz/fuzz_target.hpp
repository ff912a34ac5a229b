// fuzz_target.hpp — what every fuzz target of tests/fuzz defines.
//
// Each target is one .cpp file with LLVMFuzzerTestOneInput (libFuzzer's entry; clang builds it
// with -fsanitize=fuzzer) and fuzz_seeds() (valid inputs to start from). replay_main.cpp turns the
// same file into an ordinary program (g++, every build of the tests) that runs the target over its
// seeds and over the regression inputs in tests/fuzz/regressions/<target>/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

/// Inputs the target accepts: where fuzzing starts from, and what every replay runs.
std::vector<std::string> fuzz_seeds();
