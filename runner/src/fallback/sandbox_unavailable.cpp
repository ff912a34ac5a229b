// sandbox_unavailable.cpp — Sandbox::available() without worker processes: never (a sandbox
// confines a worker process; jobs here run on threads of the caller's process).
#include <isolate/sandbox.hpp>

#include "sandbox_support.hpp"

namespace isolate {
namespace detail {

std::string sandbox_unavailable_reason() { return "this build has no process backend (ISOLATE_PROCESS_BACKEND=OFF)"; }

}  // namespace detail

bool Sandbox::available() noexcept { return false; }

}  // namespace isolate
