// Stress of progress delivery: many runs with callbacks at once, from several threads, on one-shot
// workers, a process pool and a thread pool, with cancels landing at random moments. Run under
// ThreadSanitizer by ./scripts/test.sh. No callback may overlap another of its run or start after
// its run's future is ready, whoever ends the run.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "test_jobs.hpp"

namespace isolate::test {
namespace {

/// One run's callback state: calls in progress, and whether the run's future is ready.
struct RunWatch {
  std::atomic<int> in_callback{0};
  std::atomic<bool> ready{false};
  std::atomic<bool> broken{false};
  std::atomic<std::uint64_t> last_done{0};

  ProgressCallback callback() {
    return [this](const Progress& p) {
      if (in_callback.fetch_add(1) != 0 || ready.load() || p.done < last_done.load()) broken = true;
      last_done = p.done;
      in_callback.fetch_sub(1);
    };
  }
};

enum class Where { one_shot, process_pool, thread_pool };

void stress(Where where) {
  constexpr int kThreads = 4;
  constexpr int kRunsPerThread = 12;
  std::unique_ptr<IsolatePool> pool;
  if (where != Where::one_shot) {
    pool = std::make_unique<IsolatePool>(
        PoolOptions{.workers = 2, .backend = where == Where::process_pool ? Backend::process : Backend::thread});
  }
  std::atomic<int> broken_runs{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t) * 7919U);
      for (int i = 0; i < kRunsPerThread; ++i) {
        RunWatch watch;
        CancellationToken token;
        const bool cancel = random() % 2 == 0;
        // Slow enough to be polled a few times, short enough for the suite.
        const nlohmann::json input = {{"total", 40}, {"then", cancel ? "wait" : "return"}, {"sleep_us", 1000}};
        auto future =
            pool ? pool->run(report_progress, input, token, watch.callback())
                 : CancellableIsolate::run(report_progress, input, token,
                                           RunOptions{.backend = Backend::process, .on_progress = watch.callback()});
        if (cancel) {
          std::this_thread::sleep_for(std::chrono::microseconds(random() % 60'000));
          token.cancel();
          EXPECT_THROW(future.get(), CancelledException);
        } else {
          EXPECT_EQ(future.get(), "reported 40");
        }
        watch.ready = true;
        // Any call still to come would start now; the pool and the thread outlive it here.
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        if (watch.broken.load()) ++broken_runs;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(broken_runs.load(), 0) << "runs whose callbacks overlapped, went back, or came after the future";
}

TEST(ProgressStress, OneShotRunsWithCallbacksAndRandomCancels) {
  if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  stress(Where::one_shot);
}

TEST(ProgressStress, ProcessPoolRunsWithCallbacksAndRandomCancels) {
  if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  stress(Where::process_pool);
}

TEST(ProgressStress, ThreadPoolRunsWithCallbacksAndRandomCancels) { stress(Where::thread_pool); }

}  // namespace
}  // namespace isolate::test
