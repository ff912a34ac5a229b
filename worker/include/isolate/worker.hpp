// worker.hpp — worker-mode dispatch: the first line of main() of any program that runs jobs.
//
//   int main(int argc, char** argv) {
//     if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
//     ...   // the program itself
//   }
#pragma once

#include <isolate/export.hpp>

#include <optional>

namespace isolate {

/// In a worker process (started by CancellableIsolate::run or IsolatePool with a marker
/// argument), serves the job and returns the exit code to return from main(); in any other
/// process returns std::nullopt at once, touching nothing. Never throws: a worker reports every
/// failure to its parent. Thread safety: call once, from main(), before starting threads.
[[nodiscard]] ISOLATE_EXPORT std::optional<int> run_worker_if_requested(int argc, char** argv);

}  // namespace isolate
