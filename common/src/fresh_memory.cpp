// fresh_memory.cpp — MADV_HUGEPAGE + MADV_POPULATE_WRITE on a buffer about to be filled.
#include <isolate/detail/fresh_memory.hpp>

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "memory_pages.hpp"
#include "quiet_thread.hpp"

namespace isolate::detail {
namespace {

/// From this size up, a second thread faults in the upper half: a thread's start (~50 us) is
/// noise beside it, and where fresh memory is slow to come (a VM that takes each page from its
/// host) the two halves fault in side by side (100 MB input of a one-shot run: see README).
constexpr std::size_t kTwoThreadsFrom = std::size_t{32} << 20;

struct Range {
  std::byte* start;
  std::size_t length;
};

void populate(const Range& range) noexcept { (void)populate_for_write(range.start, range.length); }

void* populate_on_this_thread(void* range) noexcept {
  populate(*static_cast<const Range*>(range));
  return nullptr;
}

/// Populates `range` (whole pages), on two threads when it is large and the machine has a second
/// CPU; on one if a thread cannot be started.
void populate_range(const Range& range) noexcept {
  static const bool two_cpus = std::thread::hardware_concurrency() > 1;
  if (range.length < kTwoThreadsFrom || !two_cpus) return populate(range);
  const std::size_t lower = (range.length / 2) & ~((std::size_t{2} << 20) - 1);  // at a huge page boundary
  Range upper{range.start + lower, range.length - lower};
  pthread_t thread{};
  if (!start_quiet_thread(thread, populate_on_this_thread, &upper, std::size_t{64} << 10)) return populate(range);
  populate({range.start, lower});
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
  populate_range({static_cast<std::byte*>(start), length});
  errno = saved_errno;
}

}  // namespace isolate::detail
