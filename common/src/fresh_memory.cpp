// fresh_memory.cpp — MADV_HUGEPAGE + MADV_POPULATE_WRITE on a buffer about to be filled.
#include <isolate/detail/fresh_memory.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; Debian 12's headers may predate it
#endif

namespace isolate::detail {
namespace {

std::atomic<bool> g_populate_supported{true};  // cleared on the first EINVAL (kernel < 5.14)

}  // namespace

void prepare_fresh_memory(void* p, std::size_t n) noexcept {
  if (p == nullptr || n < kFreshMemoryThreshold) return;
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  const auto last = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(page - 1);
  if (last <= first) return;
  auto* start = reinterpret_cast<void*>(first);
  const std::size_t length = last - first;
#ifdef MADV_HUGEPAGE
  (void)::madvise(start, length, MADV_HUGEPAGE);  // EINVAL without THP or on shared memory: fine
#endif
  if (g_populate_supported.load(std::memory_order_relaxed) && ::madvise(start, length, MADV_POPULATE_WRITE) != 0 &&
      errno == EINVAL) {
    g_populate_supported.store(false, std::memory_order_relaxed);
  }
}

}  // namespace isolate::detail
