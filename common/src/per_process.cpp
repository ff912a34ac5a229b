// per_process.cpp — the fork generation (see per_process.hpp).
#include "per_process.hpp"

#include <pthread.h>

#include <atomic>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace isolate::detail {
namespace {

std::atomic<std::uint64_t> g_generation{0};

void after_fork_in_child() noexcept { g_generation.fetch_add(1, std::memory_order_relaxed); }

/// Registers the handler once, at the first use: a fork before it changes nothing of ours.
bool register_fork_handler() noexcept { return ::pthread_atfork(nullptr, nullptr, after_fork_in_child) == 0; }

}  // namespace

std::uint64_t fork_generation() noexcept {
  [[maybe_unused]] static const bool registered = register_fork_handler();
  return g_generation.load(std::memory_order_relaxed);
}

void left_on_purpose(const void* p) noexcept {
#if defined(__SANITIZE_ADDRESS__)
  __lsan_ignore_object(p);
#else
  (void)p;
#endif
}

}  // namespace isolate::detail
