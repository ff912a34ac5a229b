// test_programs.cpp — the extra roles of a test binary (see test_programs.hpp).
#include "test_programs.hpp"

#include <chrono>
#include <string_view>
#include <thread>

#include "test_jobs.hpp"

namespace isolate::test {

std::optional<int> run_test_program_if_requested(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  const std::string_view role = argv[1];
  if (role == "--test-program=hang") {
    // A program whose main() forgot run_worker_if_requested: it never attaches.
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (role == "--test-program=parent" && argc >= 3) {
    // A parent that starts a spinning worker and waits forever; the test SIGKILLs it.
    auto f = CancellableIsolate::run(spin, std::string(argv[2]));
    f.wait();
    return 1;
  }
  return std::nullopt;
}

}  // namespace isolate::test
