// input_fd.hpp — a FileInput read on the thread backend (internal; reachable because
// CancellableIsolate::run, a template, reads the input on the job's thread through it).
#pragma once

#include <isolate/export.hpp>

#include <cstdint>
#include <stop_token>
#include <string>

namespace isolate::detail {

/// The caller's fd duplicated (close-on-exec), closed with this object. Move-only.
/// Thread safety: one thread at a time.
class ISOLATE_EXPORT InputFd {
 public:
  /// Throws InputError when `fd` cannot be duplicated (not open, no fd left).
  explicit InputFd(int fd);
  InputFd(InputFd&& other) noexcept;
  InputFd& operator=(InputFd&&) = delete;
  InputFd(const InputFd&) = delete;
  ~InputFd();

  /// Reads from the fd's offset to its end. Waits for data at most 0.1 s at a time, so a stop
  /// requested through `stop` ends the read within that long (returns what was read so far).
  /// Throws InputError: a read error, or more than `max_bytes` bytes.
  [[nodiscard]] std::string read_all(std::uint64_t max_bytes, const std::stop_token& stop);

 private:
  int fd_ = -1;
};

}  // namespace isolate::detail
