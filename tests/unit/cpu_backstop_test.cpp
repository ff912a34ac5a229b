// Unit tests of the RLIMIT_CPU backstop's arithmetic (worker/src/posix/cpu_backstop.hpp): room for
// the first job's whole budget, a pool's reserve, when a pool worker must ask to be replaced, and
// budgets too long to need a backstop. No processes: the limit itself is tested in
// tests/integration/limits_test.cpp with jobs that block SIGXCPU.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "posix/cpu_backstop.hpp"

namespace isolate::detail {
namespace {

using namespace std::chrono_literals;

TEST(CpuBackstop, AOneShotWorkerGetsItsBudgetAndTheStartMarginRoundedUpThenOneSecondToTheKill) {
  EXPECT_EQ(cpu_backstop(20ms, 200ms, false), (CpuBackstop{1, 2}));     // 0.72 s -> 1
  EXPECT_EQ(cpu_backstop(20ms, 1000ms, false), (CpuBackstop{2, 3}));    // 1.52 s -> 2
  EXPECT_EQ(cpu_backstop(0ms, 500ms, false), (CpuBackstop{1, 2}));      // exactly 1 s
  EXPECT_EQ(cpu_backstop(3s, 10'000ms, false), (CpuBackstop{14, 15}));  // what it used counts
}

TEST(CpuBackstop, APoolWorkerKeepsTwoBudgetsAndAtLeastTwoSecondsForItsLaterJobs) {
  EXPECT_EQ(pool_cpu_reserve(200ms), 2s);
  EXPECT_EQ(pool_cpu_reserve(5000ms), 10s);
  EXPECT_EQ(cpu_backstop(20ms, 200ms, true), (CpuBackstop{3, 4}));     // 2.72 s -> 3
  EXPECT_EQ(cpu_backstop(20ms, 5000ms, true), (CpuBackstop{16, 17}));  // 15.52 s -> 16
}

TEST(CpuBackstop, TheFirstJobAlwaysHasRoomForItsWholeBudget) {
  for (const auto budget : {1ms, 200ms, 999ms, 1000ms, 7777ms}) {
    for (const bool for_pool : {false, true}) {
      const auto used = 123ms;
      EXPECT_TRUE(backstop_has_room(used, budget, cpu_backstop(used, budget, for_pool).soft_seconds))
          << budget.count() << " ms, pool " << for_pool;
    }
  }
}

TEST(CpuBackstop, APoolWorkerHasRoomUntilItsJobsUsedUpTheReserve) {
  const auto soft = cpu_backstop(0ms, 400ms, true).soft_seconds;  // 0.5 + 0.4 + 2 = 2.9 -> 3
  ASSERT_EQ(soft, 3u);
  EXPECT_TRUE(backstop_has_room(750ms, 400ms, soft));    // 1.65 s -> 2
  EXPECT_TRUE(backstop_has_room(2100ms, 400ms, soft));   // 3.0 s -> 3: a whole budget is left
  EXPECT_FALSE(backstop_has_room(2101ms, 400ms, soft));  // SIGXCPU could come before the budget
}

TEST(CpuBackstop, ABudgetLongerThanTenYearsGetsNoBackstopRatherThanAnOverflow) {
  const auto decades = std::chrono::milliseconds(std::chrono::hours(24 * 365 * 100));
  EXPECT_EQ(cpu_backstop(0ms, decades, true), kNoCpuBackstop);
  EXPECT_EQ(cpu_backstop(0ms, std::chrono::milliseconds::max(), false), kNoCpuBackstop);
  EXPECT_TRUE(backstop_has_room(1s, std::chrono::milliseconds::max(), kNoCpuBackstop.soft_seconds));
  EXPECT_FALSE(backstop_has_room(1s, std::chrono::milliseconds::max(), 100));  // a host's own limit
}

}  // namespace
}  // namespace isolate::detail
