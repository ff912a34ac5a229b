// shared_memory.cpp — SharedMemory: a memfd segment mapped through Boost.Interprocess.
#include "posix/shared_memory.hpp"

#include <isolate/errors.hpp>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "posix/fd.hpp"

namespace isolate::detail {

namespace ipc = boost::interprocess;

namespace {

[[noreturn]] void throw_errno(const std::string& what, int error) {
  throw IsolateError("shared memory: " + what + ": " + std::system_category().message(error));
}

/// The smallest "memory mappable" object mapped_region accepts: it only asks for
/// get_mapping_handle(). The fd stays owned by SharedMemory.
class FdMappable {
 public:
  explicit FdMappable(int fd) noexcept : fd_(fd) {}
  [[nodiscard]] ipc::mapping_handle_t get_mapping_handle() const noexcept {
    return ipc::ipcdetail::mapping_handle_from_file_handle(fd_);
  }

 private:
  int fd_;
};

off_t to_off_t(std::size_t size) {
  if (size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    throw_errno("size " + std::to_string(size) + " too large", EFBIG);
  }
  return static_cast<off_t>(size);
}

void truncate_fd(int fd, std::size_t size) {
  const off_t length = to_off_t(size);
  int rc = 0;
  do {
    rc = ::ftruncate(fd, length);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;  // read before building the message (allocation may touch errno)
    throw_errno("ftruncate to " + std::to_string(size) + " bytes", error);
  }
}

}  // namespace

struct SharedMemory::Mapping {
  ipc::mapped_region region;
};

SharedMemory::SharedMemory() noexcept = default;

SharedMemory::SharedMemory(int fd, std::unique_ptr<Mapping> mapping) noexcept : fd_(fd), mapping_(std::move(mapping)) {}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), mapping_(std::move(other.mapping_)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    mapping_ = std::move(other.mapping_);
  }
  return *this;
}

SharedMemory::~SharedMemory() { release(); }

void SharedMemory::release() noexcept {
  mapping_.reset();  // munmap before close (either order is valid; this one reads naturally)
  close_fd(std::exchange(fd_, -1));
}

SharedMemory SharedMemory::create(std::size_t size) {
  const int fd = ::memfd_create("isolate-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    const int error = errno;
    throw_errno("memfd_create", error);
  }
  SharedMemory segment(fd, nullptr);  // owns fd from here: closed if anything below throws
  if (size > 0) {
    segment.resize(size);
  }
  return segment;
}

SharedMemory SharedMemory::adopt(int fd) {
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    const int error = fd < 0 ? EBADF : errno;
    throw_errno("adopt fd " + std::to_string(fd), error);
  }
  SharedMemory segment(fd, nullptr);  // ownership taken: closed if anything below throws
  if (!S_ISREG(info.st_mode)) {
    throw IsolateError("shared memory: adopt fd " + std::to_string(fd) + ": not a memfd or regular file");
  }
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
    const int error = errno;
    throw_errno("adopt fd " + std::to_string(fd) + ": set FD_CLOEXEC", error);
  }
  if (info.st_size < 0) {
    throw_errno("adopt fd " + std::to_string(fd) + ": negative size", EINVAL);
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size > 0) {
    segment.resize(size);  // the file already has this size: ftruncate is a no-op, then maps
  }
  return segment;
}

void SharedMemory::forbid_shrinking() {
  if (fd_ < 0) {
    throw IsolateError("shared memory: forbid_shrinking of an empty SharedMemory");
  }
  // F_SEAL_SEAL too: otherwise any holder (a worker) could add F_SEAL_GROW or F_SEAL_WRITE and
  // break the parent's later growth or mappings of the segment.
  if (::fcntl(fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    const int error = errno;
    throw_errno("seal against shrinking", error);
  }
}

void SharedMemory::resize(std::size_t new_size) {
  if (fd_ < 0) {
    throw IsolateError("shared memory: resize of an empty SharedMemory");
  }
  const std::size_t old_size = size();

  // Maps new_size bytes of the fd (the file must already be at least that long).
  auto map_new = [this](std::size_t length) -> std::unique_ptr<Mapping> {
    if (length == 0) {
      return nullptr;
    }
    try {
      return std::make_unique<Mapping>(Mapping{ipc::mapped_region(FdMappable(fd_), ipc::read_write, 0, length)});
    } catch (const ipc::interprocess_exception& e) {
      const int native = e.get_native_error();
      if (native != 0) {
        throw_errno("mmap of " + std::to_string(length) + " bytes", native);
      }
      throw IsolateError("shared memory: mmap of " + std::to_string(length) + " bytes: " + e.what());
    }
  };

  if (new_size >= old_size) {
    // Grow (or remap at the same size, as adopt does): lengthen the file first if it is shorter,
    // so the whole new mapping is backed, then map. A file that another holder has meanwhile made
    // longer stays so (cutting it would take its bytes away: SIGBUS there). If mapping fails,
    // shorten the file again.
    struct stat info {};
    if (::fstat(fd_, &info) != 0) {
      const int error = errno;
      throw_errno("fstat", error);
    }
    const bool change_length = info.st_size < to_off_t(new_size);
    if (change_length) {
      truncate_fd(fd_, new_size);
    }
    std::unique_ptr<Mapping> fresh;
    try {
      fresh = map_new(new_size);
    } catch (...) {
      if (change_length) {
        (void)::ftruncate(fd_, info.st_size);  // best effort: fails (EPERM) if sealed against shrinking
      }
      throw;
    }
    mapping_ = std::move(fresh);  // unmaps the old region
  } else {
    // Shrink: map the shorter region while the file is still long, then cut the file. If the
    // cut fails, the old mapping is still intact and valid.
    std::unique_ptr<Mapping> fresh = map_new(new_size);
    truncate_fd(fd_, new_size);
    mapping_ = std::move(fresh);
  }
}

std::byte* SharedMemory::data() noexcept {
  return mapping_ ? static_cast<std::byte*>(mapping_->region.get_address()) : nullptr;
}

const std::byte* SharedMemory::data() const noexcept {
  return mapping_ ? static_cast<const std::byte*>(mapping_->region.get_address()) : nullptr;
}

std::size_t SharedMemory::size() const noexcept { return mapping_ ? mapping_->region.get_size() : 0; }

int SharedMemory::fd() const noexcept { return fd_; }

}  // namespace isolate::detail
