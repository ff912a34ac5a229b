// fd.hpp — closing a file descriptor the one way the library does, and owning one (internal).
#pragma once

#include <unistd.h>

#include <utility>

namespace isolate::detail {

/// Closes `fd` if it is one (>= 0). Never retried: on Linux the fd is released even when close
/// reports EINTR, and a retry could close an fd another thread has just been given.
inline void close_fd(int fd) noexcept {
  if (fd >= 0) ::close(fd);
}

/// An fd owned: closed by the destructor. Move-only.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) close_fd(std::exchange(fd_, other.release()));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { close_fd(fd_); }

  /// The fd, still owned (-1: none).
  [[nodiscard]] int get() const noexcept { return fd_; }
  /// The fd, no longer owned.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace isolate::detail
