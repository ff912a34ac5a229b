// fd.hpp — closing a file descriptor the one way the library does (internal).
#pragma once

#include <unistd.h>

namespace isolate::detail {

/// Closes `fd` if it is one (>= 0). Never retried: on Linux the fd is released even when close
/// reports EINTR, and a retry could close an fd another thread has just been given.
inline void close_fd(int fd) noexcept {
  if (fd >= 0) ::close(fd);
}

}  // namespace isolate::detail
