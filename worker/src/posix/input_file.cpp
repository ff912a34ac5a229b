// input_file.cpp — InputFile: mapping a regular file, reading a stream into mremap-grown memory.
#include "input_file.hpp"

#include <isolate/errors.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "memory_pages.hpp"
#include "protocol/layout.hpp"
#include "quiet_thread.hpp"

namespace isolate::detail {
namespace {

std::size_t round_up(std::size_t n, std::size_t page) noexcept { return (n + page - 1) / page * page; }

[[noreturn]] void throw_read_error(const char* what) {
  throw InputError(std::string("isolate: cannot read the input: ") + what + ": " + std::strerror(errno));
}

[[noreturn]] void throw_too_large(std::uint64_t max_bytes) {
  throw InputError("isolate: the input is larger than its limit (" + std::to_string(max_bytes) + " bytes)");
}

/// Anonymous zeroed memory, or InputError.
std::byte* map_anonymous(std::size_t bytes, int protection) {
  void* p = ::mmap(nullptr, bytes, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw_read_error("mmap");
  return static_cast<std::byte*>(p);
}

/// The largest stream buffer worth asking for: max_bytes + 1 (to see it go past) + padding.
std::size_t stream_capacity_limit(std::uint64_t max_bytes) {
  constexpr std::uint64_t kAddressable = std::uint64_t{1} << 46;  // beyond any memory this runs on
  return round_up(static_cast<std::size_t>(std::min(max_bytes, kAddressable)) + 1 + kInputPadding, page_size());
}

/// The memory a stream is read into: private anonymous memory, or, for a worker under a memory
/// limit, a memfd mapped shared, which RLIMIT_DATA does not count (a job's input is not memory
/// the job allocates). The memfd is closed with this object; its mapping stays.
class StreamBacking {
 public:
  StreamBacking(bool shared, std::size_t capacity) {
    if (!shared) return;
    fd_ = ::memfd_create("isolate-input", MFD_CLOEXEC);
    if (fd_ < 0) throw_read_error("memfd_create");
    grow(capacity);
  }
  ~StreamBacking() {
    if (fd_ >= 0) ::close(fd_);
  }
  StreamBacking(const StreamBacking&) = delete;
  StreamBacking& operator=(const StreamBacking&) = delete;

  [[nodiscard]] std::byte* map(std::size_t capacity) const {
    if (fd_ < 0) return map_anonymous(capacity, PROT_READ | PROT_WRITE);
    void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw_read_error("mmap");
    return static_cast<std::byte*>(p);
  }
  /// Makes the memfd `capacity` bytes long (the mapping is then grown with mremap).
  void grow(std::size_t capacity) const {
    if (fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(capacity)) != 0) throw_read_error("ftruncate");
  }

 private:
  int fd_ = -1;
};

/// Waits until a non-blocking `fd` is readable (or has hung up).
void wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) throw_read_error("poll");
  }
}

/// From this size up a mapped file's pages are faulted in on a thread of their own: 200 MB of
/// page cache took 16 ms to map populated here, time the job's start and the file's first pages
/// can overlap (and a file not in the page cache is read from disk meanwhile, not before).
constexpr std::size_t kPopulateOnAThreadFrom = std::size_t{4} << 20;
/// What the thread faults in at a time: how long the destructor may wait for it to stop.
constexpr std::size_t kPopulateChunk = std::size_t{8} << 20;

}  // namespace

/// Faults in a mapped file's pages, from the first, in chunks, on a quiet thread (see
/// start_quiet_thread) that stops at the end or when told to. A file read faster than this
/// thread faults it in is simply faulted in by its reader too.
class InputFile::Populating {
 public:
  Populating(std::byte* start, std::size_t length) noexcept : start_(start), length_(length) {}
  Populating(const Populating&) = delete;
  Populating& operator=(const Populating&) = delete;
  ~Populating() {
    stop_.store(true);
    ::pthread_join(thread_, nullptr);
  }

  /// Starts the thread (64 KiB of stack: it needs little). False if it cannot.
  bool start() noexcept { return start_quiet_thread(thread_, &Populating::run, this, std::size_t{64} << 10); }

 private:
  static void* run(void* self) noexcept {
    auto& populating = *static_cast<Populating*>(self);
    for (std::size_t done = 0; done < populating.length_ && !populating.stop_.load(); done += kPopulateChunk) {
      const std::size_t chunk = std::min(kPopulateChunk, populating.length_ - done);
      if (populate_for_read(populating.start_ + done, chunk) == EINVAL) break;  // Linux < 5.14: the reader faults
    }
    return nullptr;
  }

  std::byte* start_;
  std::size_t length_;
  std::atomic<bool> stop_{false};
  pthread_t thread_{};
};

InputFile InputFile::load(int fd, std::uint64_t max_bytes, bool outside_data_limit) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_read_error("fstat");
  if (S_ISDIR(st.st_mode)) throw InputError("isolate: cannot read the input: it is a directory");
  if (!S_ISREG(st.st_mode)) return read_stream(fd, max_bytes, outside_data_limit);
  const off_t offset = ::lseek(fd, 0, SEEK_CUR);
  const auto start = static_cast<std::uint64_t>(std::max<off_t>(offset, 0));
  const auto size = static_cast<std::uint64_t>(st.st_size) > start ? static_cast<std::uint64_t>(st.st_size) - start : 0;
  if (size > max_bytes) throw_too_large(max_bytes);
  return map_regular(fd, size, start);
}

InputFile InputFile::map_regular(int fd, std::uint64_t size, std::uint64_t offset) {
  const std::size_t page = page_size();
  const std::size_t skip = offset % page;
  const std::size_t file_part = round_up(skip + size, page);
  // One reservation for the file's pages and the zero padding after them: the bytes past the
  // file's end in its last page read as zero, and so does the anonymous page (or more) after.
  const std::size_t mapped = round_up(skip + size + kInputPadding, page);
  std::byte* base = map_anonymous(mapped, PROT_READ);
  InputFile input(base, mapped, skip, size);
  const bool on_a_thread = file_part >= kPopulateOnAThreadFrom;
  if (size > 0 && ::mmap(base, file_part, PROT_READ, MAP_PRIVATE | MAP_FIXED | (on_a_thread ? 0 : MAP_POPULATE), fd,
                         static_cast<off_t>(offset - skip)) == MAP_FAILED) {
    throw_read_error("mmap");
  }
  if (on_a_thread) {
    input.populating_.reset(new (std::nothrow) Populating(base, file_part));
    if (!input.populating_ || !input.populating_->start()) {
      input.populating_.reset();  // none to be had: fault the file in now, as a small one
      (void)populate_for_read(base, file_part);
    }
  }
  return input;
}

InputFile InputFile::read_stream(int fd, std::uint64_t max_bytes, bool outside_data_limit) {
  // A pipe's writer may write more at a time into a larger pipe (the unprivileged maximum).
  (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
  const std::size_t limit = stream_capacity_limit(max_bytes);
  std::size_t capacity = std::min(limit, std::size_t{64} << 20);
  StreamBacking backing(outside_data_limit, capacity);
  InputFile input(backing.map(capacity), capacity, 0, 0);
  // Huge pages: 512 times fewer page faults for the bytes read, and fewer TLB misses for the parse.
  (void)::madvise(input.base_, capacity, MADV_HUGEPAGE);
  for (;;) {
    if (input.size_ + kInputPadding == capacity) {  // full: grow, moving pages, never copying bytes
      const std::size_t grown = std::min(limit, capacity * 2);
      backing.grow(grown);
      void* moved = ::mremap(input.base_, capacity, grown, MREMAP_MAYMOVE);
      if (moved == MAP_FAILED) throw_read_error("mremap");
      input.base_ = static_cast<std::byte*>(moved);
      input.mapped_ = capacity = grown;
      (void)::madvise(input.base_, capacity, MADV_HUGEPAGE);
    }
    const ssize_t n = ::read(fd, input.base_ + input.size_, capacity - kInputPadding - input.size_);
    if (n == 0) return input;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) throw_read_error("read");
      wait_readable(fd);  // a non-blocking fd
      continue;
    }
    input.size_ += static_cast<std::size_t>(n);
    if (input.size_ > max_bytes) throw_too_large(max_bytes);
  }
}

InputFile::InputFile(std::byte* base, std::size_t mapped, std::size_t skip, std::size_t size) noexcept
    : base_(base), mapped_(mapped), skip_(skip), size_(size) {}

InputFile::InputFile(InputFile&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)),
      skip_(other.skip_),
      size_(other.size_),
      populating_(std::move(other.populating_)) {}

InputFile::~InputFile() {
  populating_.reset();  // its thread touches the mapping until it is joined
  if (base_ != nullptr) ::munmap(base_, mapped_);
}

}  // namespace isolate::detail
