// dispatch_guard.hpp — a worker whose main() forgot run_worker_if_requested starts no worker
// of its own (internal; reachable because the run templates ask it first).
//
// A worker is this program (or RunOptions::worker_executable) started with argv[1] =
// "--isolate-worker=...". If its main() does not begin with run_worker_if_requested, the whole
// program runs again in the worker, and every run it starts would start another worker: a chain
// of processes. The library notes at load time whether this process was started as a worker, and
// run_worker_if_requested notes that it served; a run or pool in a worker that did not serve
// fails at once with the IsolateError below.
#pragma once

#include <isolate/export.hpp>

#include <exception>

namespace isolate::detail {

/// Null, or (in a process started as a worker whose main() did not call
/// run_worker_if_requested first) the IsolateError every run and pool of it fails with.
/// Does not block, never throws. Thread safety: any thread.
[[nodiscard]] ISOLATE_EXPORT std::exception_ptr undispatched_worker_error() noexcept;

/// Called by run_worker_if_requested when it serves a worker argument.
ISOLATE_EXPORT void note_worker_dispatched() noexcept;

}  // namespace isolate::detail
