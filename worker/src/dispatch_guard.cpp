// dispatch_guard.cpp — was this process started as a worker, and did it serve? (see
// dispatch_guard.hpp)
#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/errors.hpp>

#include <atomic>
#include <string_view>

#include "protocol/worker_argument.hpp"

namespace isolate::detail {
namespace {

std::atomic<bool> g_started_as_worker{false};
std::atomic<bool> g_dispatched{false};

/// Runs when the library is loaded, before main() and before any static constructor of the
/// program can start a run: glibc calls .init_array entries with the program's own argc and argv
/// (also for a shared library), before main() or anything else can change argv.
void note_command_line(int argc, char** argv, char** /*envp*/) {
  g_started_as_worker.store(
      argc >= 2 && argv != nullptr && argv[1] != nullptr && std::string_view(argv[1]).starts_with(kWorkerFlag),
      std::memory_order_relaxed);
}
[[gnu::section(".init_array"), gnu::used]] void (*const g_note_command_line)(int, char**, char**) = note_command_line;

}  // namespace

void note_worker_dispatched() noexcept { g_dispatched.store(true, std::memory_order_relaxed); }

std::exception_ptr undispatched_worker_error() noexcept {
#ifdef ISOLATE_NO_PROCESS_BACKEND
  return nullptr;  // no worker processes in this build
#else
  if (!g_started_as_worker.load(std::memory_order_relaxed) || g_dispatched.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  try {
    static const std::exception_ptr error = std::make_exception_ptr(IsolateError(
        "isolate: this process was started as a worker (argv[1] is --isolate-worker=...), but its main() ran "
        "instead of serving the job: make `if (auto code = isolate::run_worker_if_requested(argc, argv)) return "
        "*code;` the first line of main(). Runs and pools started here fail at once, so that no chain of worker "
        "processes can start"));
    return error;
  } catch (...) {
    return std::current_exception();  // bad_alloc: still a failure, never a run
  }
#endif
}

}  // namespace isolate::detail
