// test_programs.hpp — extra roles a test binary can be started in (besides a worker), for tests
// that need a second program: "--test-program=hang" never attaches; "--test-program=parent
// FILE" runs a job that writes its worker's pid to FILE and spins, so the test can SIGKILL this
// parent and watch the worker die.
#pragma once

#include <optional>

namespace isolate::test {

/// Runs the role named by argv[1] and returns its exit code, or nullopt for a normal test run.
std::optional<int> run_test_program_if_requested(int argc, char** argv);

}  // namespace isolate::test
