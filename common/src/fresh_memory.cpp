// fresh_memory.cpp — MADV_HUGEPAGE + MADV_POPULATE_WRITE on a buffer about to be filled.
#include <isolate/detail/fresh_memory.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; Debian 12's headers may predate it
#endif

namespace isolate::detail {

void prepare_fresh_memory(void* p, std::size_t n) noexcept {
  if (p == nullptr || n < kFreshMemoryThreshold) return;
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
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
  (void)::madvise(start, length, MADV_POPULATE_WRITE);
  errno = saved_errno;
}

}  // namespace isolate::detail
