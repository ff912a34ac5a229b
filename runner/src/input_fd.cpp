// input_fd.cpp — InputFd: duplicating a FileInput's fd and reading it on the thread backend.
#include <isolate/detail/input_fd.hpp>
#include <isolate/errors.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace isolate::detail {
namespace {

[[noreturn]] void throw_read_error(const char* what) {
  throw InputError(std::string("isolate: cannot read the input: ") + what + ": " + std::strerror(errno));
}

/// True once `fd` is readable (or at its end); false after 100 ms without data.
bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  const int n = ::poll(&p, 1, 100);
  if (n < 0 && errno != EINTR) throw_read_error("poll");
  return n > 0;
}

/// Asks for transparent huge pages under the 2 MiB-aligned interior of a large buffer: a 200 MB
/// file read into 4 KiB pages faulted 51,200 times.
void advise_huge_pages(char* data, std::size_t size) noexcept {
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (start + kHugePage - 1) & ~(kHugePage - 1);
  const std::uintptr_t last = (start + size) & ~(kHugePage - 1);
  if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

}  // namespace

InputFd::InputFd(int fd) : fd_(fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3)) {
  if (fd_ < 0) {
    throw InputError("isolate: cannot use fd " + std::to_string(fd) +
                     " as a run's input: " + std::strerror(fd < 0 ? EBADF : errno));
  }
}

InputFd::InputFd(InputFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

InputFd::~InputFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string InputFd::read_all(std::uint64_t max_bytes, const std::stop_token& stop) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw_read_error("fstat");
  if (S_ISDIR(st.st_mode)) throw InputError("isolate: cannot read the input: it is a directory");
  const auto too_large = [max_bytes] {
    return InputError("isolate: the input is larger than its limit (" + std::to_string(max_bytes) + " bytes)");
  };
  const bool regular = S_ISREG(st.st_mode);
  std::string bytes;
  if (regular) {
    const off_t at = ::lseek(fd_, 0, SEEK_CUR);
    const auto left = static_cast<std::uint64_t>(std::max<off_t>(st.st_size - std::max<off_t>(at, 0), 0));
    if (left > max_bytes) throw too_large();
    bytes.reserve(static_cast<std::size_t>(left) + 1);  // + 1: a read that finds the end
    advise_huge_pages(bytes.data(), bytes.capacity());
  }
  std::size_t size = 0;
  while (!stop.stop_requested()) {
    if (!regular && !wait_readable(fd_)) continue;
    // A regular file's buffer grows only when full (a file that grew while read): its last read,
    // the one that finds the end, fits in the byte reserved for it. A stream's grows before its
    // room gets small, so that every read stays large.
    if (bytes.size() == size || (!regular && bytes.size() - size < (std::size_t{1} << 16))) {
      bytes.resize(std::max<std::size_t>(bytes.capacity(), std::max(size * 2, std::size_t{1} << 20)));
    }
    const ssize_t n = ::read(fd_, bytes.data() + size, bytes.size() - size);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_read_error("read");
    }
    size += static_cast<std::size_t>(n);
    if (size > max_bytes) throw too_large();
  }
  bytes.resize(size);
  return bytes;
}

}  // namespace isolate::detail
