// futex.hpp — waiting on a 32-bit word in shared memory across processes (internal).
//
// The words live in MAP_SHARED memfd mappings that several processes map, so the futex calls
// are the shared (not FUTEX_PRIVATE_FLAG) kind: the kernel keys them by the backing page.
// (libstdc++'s std::atomic::wait may use private futexes, which do not work across processes.)
#pragma once

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace isolate::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

/// Sleeps while `word` holds `expected`, at most `timeout` (negative: no limit). Spurious
/// wake-ups happen: callers re-check their condition.
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       std::chrono::nanoseconds timeout = std::chrono::nanoseconds(-1)) noexcept {
  timespec ts{};
  timespec* limit = nullptr;
  if (timeout.count() >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    limit = &ts;
  }
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, limit, nullptr, 0);
}

/// Wakes every process and thread sleeping on `word`.
inline void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// How a waiter spins before it sleeps on the futex.
struct Spin {
  std::chrono::nanoseconds duration{0};
  /// sched_yield() between polls. A spinning pool worker yields: on a 2-vCPU machine its spin
  /// otherwise holds the CPU that the parent's woken caller needs (pool round trip 33 us without,
  /// 7.5 us with; bench/isolate_bench BM_PoolRoundTrip). The parent's dispatcher does not: its
  /// yields cost more throughput than they save.
  bool yield = false;
};

/// A word one side changes and the other waits on: the waiter spins (cheap wake-ups while busy),
/// then sleeps on the futex, announcing it in `sleepers` so the changer only pays the wake
/// syscall when someone sleeps.
struct WakeWord {
  std::atomic<std::uint32_t> value{0};
  std::atomic<std::uint32_t> sleepers{0};

  /// Waits until value != old and returns the new value; with a `timeout` (>= 0), returns after
  /// at most about that long of sleeping, possibly still `old`. Spurious futex wake-ups are
  /// absorbed: without a timeout, the value returned always differs from `old`.
  std::uint32_t wait_change(std::uint32_t old, Spin spin,
                            std::chrono::nanoseconds timeout = std::chrono::nanoseconds(-1)) noexcept {
    std::uint32_t now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    if (spin.duration.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + spin.duration;
      do {
        for (int i = 0; i < 64; ++i) {
          cpu_relax();
          now = value.load(std::memory_order_acquire);
          if (now != old) return now;
        }
        if (spin.yield) ::sched_yield();
      } while (std::chrono::steady_clock::now() < until);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      sleepers.fetch_add(1, std::memory_order_seq_cst);
      now = value.load(std::memory_order_seq_cst);
      if (now == old) {
        futex_wait(value, old,
                   timeout.count() < 0
                       ? timeout
                       : std::max(deadline - std::chrono::steady_clock::now(), std::chrono::nanoseconds(0)));
      }
      sleepers.fetch_sub(1, std::memory_order_relaxed);
      now = value.load(std::memory_order_acquire);
      if (now != old) return now;
      if (timeout.count() >= 0 && std::chrono::steady_clock::now() >= deadline) return now;
    }
  }

  /// Sets a new value (release) and wakes sleepers, if any.
  void publish(std::uint32_t v) noexcept {
    value.store(v, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) != 0) futex_wake_all(value);
  }
  /// Increments the value and wakes sleepers, if any.
  void ring() noexcept {
    value.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) != 0) futex_wake_all(value);
  }
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

/// How long pool workers and dispatchers spin before they sleep: 50 us, or the environment's
/// ISOLATE_SPIN_US (0 disables spinning: every wake-up is a futex wake; for measurements).
inline std::chrono::nanoseconds spin_duration() noexcept {
  static const std::chrono::nanoseconds spin = [] {
    const char* text = std::getenv("ISOLATE_SPIN_US");
    long us = 50;
    if (text != nullptr && *text != '\0') us = std::strtol(text, nullptr, 10);
    return std::chrono::microseconds(us < 0 ? 0 : us);
  }();
  return spin;
}

}  // namespace isolate::detail
