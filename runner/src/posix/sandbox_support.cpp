// sandbox_support.cpp — Sandbox::available() with worker processes: the kernel must offer
// Landlock (ABI >= 3) and seccomp filters that trap (see sandbox_support.hpp).
#include "sandbox_support.hpp"

#include <isolate/sandbox.hpp>

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "posix/landlock.hpp"

namespace isolate {
namespace detail {

std::string sandbox_unavailable_reason() {
  const int abi = landlock::abi();
  if (abi < landlock::kMinimumAbi) {
    return "the kernel offers Landlock ABI " + std::to_string(abi) + " (0: none, or disabled at boot); the sandbox " +
           "needs ABI " + std::to_string(landlock::kMinimumAbi) + " (Linux 6.2)";
  }
  std::uint32_t trap = SECCOMP_RET_TRAP;
  if (::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0U, &trap) != 0) {
    return "the kernel has no seccomp filters that trap (SECCOMP_GET_ACTION_AVAIL)";
  }
  return {};
}

}  // namespace detail

bool Sandbox::available() noexcept {
  try {
    return detail::sandbox_unavailable_reason().empty();
  } catch (...) {  // std::bad_alloc building a reason: not available
    return false;
  }
}

}  // namespace isolate
