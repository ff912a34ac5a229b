// serve.hpp — serving a worker argument (internal; posix/serve.cpp, or fallback/ where there
// are no worker processes).
#pragma once

#include <optional>

namespace isolate::detail {

/// If `argument` (argv[1]) marks this process as a worker, serves its job (or, for a pool worker,
/// jobs until it is killed) and returns the exit code; otherwise returns nullopt at once.
[[nodiscard]] std::optional<int> serve_if_worker(const char* argument);

}  // namespace isolate::detail
