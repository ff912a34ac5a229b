// The main() of every test binary. A test binary doubles as a worker executable (the process
// backend re-executes /proc/self/exe), so worker mode is dispatched before GoogleTest starts.
#include <isolate/worker.hpp>

#include <gtest/gtest.h>

#include "test_programs.hpp"

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (auto code = isolate::test::run_test_program_if_requested(argc, argv)) return *code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
