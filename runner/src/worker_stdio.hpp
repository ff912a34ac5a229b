// worker_stdio.hpp — a worker's fds 0, 1 and 2 (internal).
#pragma once

#include <isolate/run_options.hpp>

#include "child_process.hpp"

namespace isolate::detail {

/// stdin is always /dev/null (a job never reads the host's input); stdout and stderr as the
/// options say.
inline Stdio worker_stdio(WorkerOutput output) noexcept {
  return output == WorkerOutput::discard ? Stdio::null : Stdio::null_input;
}

}  // namespace isolate::detail
