// Tests of isolate::detail::WakeWord, the spin-then-futex word of the pool channel: a waiter sees
// every change whether it is spinning (with or without yielding) or asleep, a timeout hands back
// the old value, and the futex works across processes (a forked child on a MAP_SHARED mapping).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <new>
#include <thread>

#include "posix/futex.hpp"
#include "posix/shared_memory.hpp"

namespace {

using isolate::detail::SharedMemory;
using isolate::detail::Spin;
using isolate::detail::WakeWord;
using namespace std::chrono_literals;

constexpr auto kForever = std::chrono::nanoseconds(-1);

/// Waits (at most 30 s) until `sleepers` waiters sleep on the futex.
[[nodiscard]] bool wait_until_asleep(const WakeWord& word, unsigned sleepers = 1) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (word.sleepers.load() < sleepers) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

TEST(WakeWord, ReturnsAtOnceWhenTheValueAlreadyDiffers) {
  WakeWord word;
  word.value = 5;
  EXPECT_EQ(word.wait_change(4, Spin{}), 5u);
  EXPECT_EQ(word.wait_change(4, Spin{.duration = 1s, .yield = true}, 0ns), 5u);
  EXPECT_EQ(word.sleepers.load(), 0u);
}

TEST(WakeWord, TimeoutWithoutAChangeHandsBackTheOldValue) {
  WakeWord word;
  word.value = 3;
  EXPECT_EQ(word.wait_change(3, Spin{}, 2ms), 3u);
  EXPECT_EQ(word.wait_change(3, Spin{.duration = 1ms, .yield = true}, 0ns), 3u);
  EXPECT_EQ(word.sleepers.load(), 0u) << "a waiter that timed out must not stay counted as asleep";
}

TEST(WakeWord, SleepingWaiterIsWokenByPublishAndStopsCountingAsASleeper) {
  WakeWord word;
  auto seen = std::async(std::launch::async, [&] { return word.wait_change(0, Spin{}, kForever); });
  ASSERT_TRUE(wait_until_asleep(word));
  word.publish(42);
  EXPECT_EQ(seen.get(), 42u);
  EXPECT_EQ(word.sleepers.load(), 0u);
}

TEST(WakeWord, RingWakesEverySleeper) {
  WakeWord word;
  auto a = std::async(std::launch::async, [&] { return word.wait_change(0, Spin{}, kForever); });
  auto b = std::async(std::launch::async, [&] { return word.wait_change(0, Spin{}, kForever); });
  ASSERT_TRUE(wait_until_asleep(word, 2));
  word.ring();
  EXPECT_EQ(a.get(), 1u);
  EXPECT_EQ(b.get(), 1u);
}

TEST(WakeWord, SpinningWaiterSeesTheChangeWithAndWithoutYielding) {
  for (const bool yield : {false, true}) {
    WakeWord word;
    std::atomic<bool> waiting{false};
    auto seen = std::async(std::launch::async, [&] {
      waiting = true;
      return word.wait_change(0, Spin{.duration = 60s, .yield = yield}, kForever);
    });
    while (!waiting) std::this_thread::yield();
    word.ring();
    EXPECT_EQ(seen.get(), 1u) << "yield=" << yield;
    EXPECT_EQ(word.sleepers.load(), 0u);
  }
}

// The worker and the parent share the word through a memfd mapping: the futex must be the shared
// kind (keyed by the page), or a waiter in another process would never wake.
TEST(WakeWord, WakesAWaiterInAnotherProcessThroughASharedMapping) {
  auto segment = SharedMemory::create(4096);
  auto* word = new (segment.data()) WakeWord{};
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    const auto seen = word->wait_change(0, Spin{}, std::chrono::seconds(30));
    ::_exit(seen == 9 ? 0 : 1);
  }
  const bool asleep = wait_until_asleep(*word);
  word->publish(9);  // wakes it if it sleeps; a child that never slept is reported below
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child did not see the published value";
  EXPECT_TRUE(asleep) << "the child never slept on the futex";
}

}  // namespace
