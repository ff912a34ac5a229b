// fresh_memory.cpp — MADV_HUGEPAGE + MADV_POPULATE_WRITE on a buffer about to be filled, and
// the copy of a large buffer, each on two threads when large.
#include <isolate/detail/fresh_memory.hpp>

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>

#include "memory_pages.hpp"
#include "quiet_thread.hpp"

namespace isolate::detail {
namespace {

/// From this size up, a second thread faults in (or copies) the upper half: a thread's start
/// (~50 us) is noise beside it, and where fresh memory is slow to come (a VM that takes each page
/// from its host) the two halves fault in side by side (100 MB input of a one-shot run: see
/// README).
constexpr std::size_t kTwoThreadsFrom = std::size_t{32} << 20;

/// One half of a job split in two: `work(offset, length)` for its part of the range.
template <class Work>
struct Half {
  const Work* work;
  std::size_t offset;
  std::size_t length;
  void operator()() const noexcept { (*work)(offset, length); }
};

template <class Work>
void* run_half(void* half) noexcept {
  (*static_cast<const Half<Work>*>(half))();
  return nullptr;
}

/// Runs `work(offset, length)` over [0, n) of the memory at `base`: from kTwoThreadsFrom up and
/// when the machine has a second CPU, as two halves side by side (the upper one on a quiet helper
/// thread, split at a huge-page boundary of `base`); otherwise, or if the thread cannot be
/// started, in one call on this thread.
template <class Work>
void in_two_halves(const std::byte* base, std::size_t n, const Work& work) noexcept {
  static const bool two_cpus = std::thread::hardware_concurrency() > 1;
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const auto first = reinterpret_cast<std::uintptr_t>(base);
  const std::size_t lower = ((first + n / 2) & ~(kHugePage - 1)) - first;
  if (n < kTwoThreadsFrom || !two_cpus || lower == 0 || lower >= n) return work(0, n);
  Half<Work> upper{&work, lower, n - lower};
  pthread_t thread{};
  if (!start_quiet_thread(thread, run_half<Work>, &upper, std::size_t{64} << 10)) {
    return work(0, n);
  }
  work(0, lower);
  ::pthread_join(thread, nullptr);
}

}  // namespace

void prepare_fresh_memory(void* p, std::size_t n) noexcept {
  if (p == nullptr || n < kFreshMemoryThreshold) return;
  const auto page = static_cast<std::uintptr_t>(page_size());
  const auto first = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  const auto last = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(page - 1);
  if (last <= first) return;
  auto* start = reinterpret_cast<void*>(first);  // NOLINT(performance-no-int-to-ptr): page-aligning an address
  const std::size_t length = last - first;
  const int saved_errno = errno;
  // Both are hints. Either may fail (no THP, a kernel before 5.14, an unusual mapping); a failed
  // madvise costs far less than the copy of >= 4 MiB that follows, so each call simply tries.
#ifdef MADV_HUGEPAGE
  (void)::madvise(start, length, MADV_HUGEPAGE);
#endif
  auto* first_page = static_cast<std::byte*>(start);
  in_two_halves(first_page, length, [first_page](std::size_t offset, std::size_t part) {
    (void)populate_for_write(first_page + offset, part);
  });
  errno = saved_errno;
}

void copy_large(void* to, const void* from, std::size_t n) noexcept {
  auto* target = static_cast<std::byte*>(to);
  const auto* source = static_cast<const std::byte*>(from);
  in_two_halves(target, n, [target, source](std::size_t offset, std::size_t part) {
    std::memcpy(target + offset, source + offset, part);
  });
}

}  // namespace isolate::detail
