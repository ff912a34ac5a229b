// The main() of every test binary. A test binary doubles as a worker executable (the process
// backend re-executes /proc/self/exe), so worker mode is dispatched before GoogleTest starts.
#include <isolate/worker.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "test_programs.hpp"

namespace {
/// ISOLATE_TEST_WORKER_START_DELAY_MS=N makes a worker of this binary wait N ms before it
/// attaches: tests use it to land a cancel on a worker that is surely still starting.
void delay_worker_start(int argc, char** argv) {
  const char* delay = std::getenv("ISOLATE_TEST_WORKER_START_DELAY_MS");
  if (delay == nullptr || argc < 2 || !std::string_view(argv[1]).starts_with("--isolate-worker=")) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
}
}  // namespace

int main(int argc, char** argv) {
  delay_worker_start(argc, argv);
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (auto code = isolate::test::run_test_program_if_requested(argc, argv)) return *code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
