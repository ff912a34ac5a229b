// Stress of CancellableIsolate::run: many concurrent runs from several threads, with cancels
// landing at random moments (before, during and after the spawn). Run under ThreadSanitizer by
// ./scripts/test.sh. Every run must end with its worker reaped and its token registration gone.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

RunOptions process_backend() { return RunOptions{.backend = Backend::process}; }

class ProcessIsolate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
};

TEST_F(ProcessIsolate, ManyConcurrentRunsFromSeveralThreadsWithRandomCancels) {
  constexpr int kThreads = 4;
  constexpr int kRunsPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> completed{0};
  std::atomic<int> cancelled{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      for (int i = 0; i < kRunsPerThread; ++i) {
        CancellationToken token;
        const bool cancel = random() % 2 == 0;
        auto f = cancel ? CancellableIsolate::run(spin, std::string(), token, process_backend())
                        : CancellableIsolate::run(echo, std::to_string(i), token, process_backend());
        if (cancel) {
          std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));
          token.cancel();
          EXPECT_THROW(f.get(), CancelledException);
          ++cancelled;
        } else {
          EXPECT_EQ(f.get(), std::to_string(i));
          ++completed;
        }
        EXPECT_FALSE(token.has_callbacks());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(completed + cancelled, kThreads * kRunsPerThread);
}

TEST_F(ProcessIsolate, OneTokenCancellingManyRunsFromManyThreadsLeavesNoWorker) {
  const auto before = child_pids();
  CancellationToken token;
  std::vector<std::future<std::string>> runs(24);
  std::vector<std::thread> starters;
  for (int t = 0; t < 4; ++t) {
    starters.emplace_back([&, t] {
      for (int i = t; i < 24; i += 4)
        runs[static_cast<std::size_t>(i)] = CancellableIsolate::run(spin, std::string(), token, process_backend());
    });
  }
  std::thread canceller([&] { token.cancel("all at once"); });
  for (auto& t : starters) t.join();
  canceller.join();
  for (auto& f : runs) EXPECT_THROW(f.get(), CancelledException);
  EXPECT_EQ(live_below_new_children(before), std::vector<pid_t>{}) << "a worker outlived its future";
  EXPECT_TRUE(eventually([&] { return child_pids() == before; }, 10s)) << "a worker or its relay was left";
  EXPECT_FALSE(token.has_callbacks());
}

// A token that fires while run() is still placing its job (here: while a queued job's view input
// is being copied) must keep the job off the workers for good: were it dispatched anyway, this
// never-ending job would hold the pool's only worker and the last echo would never answer.
TEST_F(ProcessIsolate, PoolJobCancelledWhileRunPlacesItNeverReachesAWorker) {
  IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::process});
  CancellationToken busy_token;
  auto busy = pool.run(sleep_ms, 600'000, busy_token);
  const std::string document(32u << 20, 'd');
  std::mt19937 random(5);
  for (int i = 0; i < 20; ++i) {
    CancellationToken token;
    const auto delay = std::chrono::microseconds(random() % 20000);
    std::thread canceller([&] {
      std::this_thread::sleep_for(delay);
      token.cancel();
    });
    auto f = pool.run(spin_view, std::string_view(document), token);
    canceller.join();
    EXPECT_THROW(f.get(), CancelledException);
  }
  busy_token.cancel();
  EXPECT_THROW(busy.get(), CancelledException);
  auto alive = pool.run(echo, std::string("alive"));
  ASSERT_EQ(alive.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "a cancelled job holds the worker";
  EXPECT_EQ(alive.get(), "alive");
}

// A pool whose workers cannot be spawned (here: the executable is missing) fails every job with
// the spawn's IsolateError and strands none in its queue, whichever thread's job arrives while a
// slot's spawn is failing (a view input widens the window: it is copied before the job queues).
TEST_F(ProcessIsolate, PoolWhoseWorkersCannotBeSpawnedFailsEveryJobAndStrandsNone) {
  IsolatePool pool(PoolOptions{.workers = 2, .backend = Backend::process, .worker_executable = "/nonexistent/worker"});
  const std::string document(1u << 20, 'v');
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto f = pool.run(view_reverse, std::string_view(document));
        ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "a job was stranded";
        try {
          f.get();
        } catch (const IsolateError& e) {
          if (std::string(e.what()).find("/nonexistent/worker") != std::string::npos) ++failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 200);
}

// Large responses are read on executor threads, small ones on the dispatcher: mixed from several
// threads, every result arrives intact and each slot takes its next job only once its response
// has been read.
TEST_F(ProcessIsolate, PoolMixingLargeAndSmallResponsesDeliversEveryResultIntact) {
  IsolatePool pool(PoolOptions{.workers = 2, .backend = Backend::process});
  constexpr int kThreads = 3;
  constexpr int kRunsPerThread = 12;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t) + 40);
      for (int i = 0; i < kRunsPerThread; ++i) {
        if (random() % 2 == 0) {
          std::vector<std::uint8_t> bytes((std::size_t{1} << 20) + random() % 4096);
          for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
          const auto expected = bytes;
          if (pool.run(echo_span, std::move(bytes)).get() != expected) ++wrong;
        } else {
          const auto text = std::to_string(random());
          if (pool.run(echo, text).get() != text) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// The destructor waits for large responses still being read: every future is ready once it
// returns (with its value, or CancelledException("pool destroyed")). A 64 MiB echo is answered at
// once (in place) and then read for milliseconds: the pool goes at varying points of that.
TEST_F(ProcessIsolate, PoolDestroyedWhileLargeResponsesAreReadCompletesEveryFuture) {
  const std::vector<std::uint8_t> payload(64u << 20, 5);
  int delivered = 0;
  for (int round = 0; round < 12; ++round) {
    std::future<std::vector<std::uint8_t>> f;
    {
      IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::process});
      (void)pool.run(echo, std::string("started")).get();
      f = pool.run(echo_span, std::vector<std::uint8_t>(payload));  // returns once written
      std::this_thread::sleep_for(std::chrono::microseconds(500 * round));
    }
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "round " << round;
    try {
      EXPECT_TRUE(f.get() == payload);
      ++delivered;
    } catch (const CancelledException& e) {
      EXPECT_EQ(e.reason(), "pool destroyed");
    }
  }
  // The rounds that delivered had their response answered, and so read on an executor thread,
  // by the time the pool went (the run() that wrote 64 MiB returned only after the write).
  EXPECT_GT(delivered, 0) << "no round reached the read: the test proved nothing";
}

// A thread-backend job that returns the instant it sees stop_requested() must never complete the
// future with its value ahead of the token's exception: stop is requested only after the token
// has claimed the result.
TEST(ThreadBackendStress, AJobReturningOnStopNeverBeatsTheCancelThatStoppedIt) {
  constexpr int kRuns = 300;
  for (int i = 0; i < kRuns; ++i) {
    CancellationToken token;
    const int started = wait_for_stop_started.load();
    auto f = CancellableIsolate::run(wait_for_stop, std::string(), token, RunOptions{.backend = Backend::thread});
    while (wait_for_stop_started.load() == started) std::this_thread::yield();  // the job is polling
    token.cancel("stop");
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "run " << i;
    ASSERT_THROW(f.get(), CancelledException) << "run " << i;
  }
}

}  // namespace
}  // namespace isolate::test
