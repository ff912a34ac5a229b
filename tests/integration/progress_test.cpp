// Integration tests of progress reports (JobContext::report_progress → RunOptions::on_progress,
// IsolatePool::run with a callback): delivered from real worker processes and from threads,
// latest first, never two calls at once, `done` never decreasing, never after the future is
// ready; a callback that throws ends its run (the worker killed) with its exception.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "process_helpers.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

/// Records what a progress callback saw, and whether it ever broke the callback's contract.
class ProgressLog {
 public:
  ProgressCallback callback() {
    return [this](const Progress& p) {
      if (in_callback_.fetch_add(1) != 0) overlapping_.store(true);
      if (future_ready_.load()) called_after_ready_.store(true);
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(p);
      }
      in_callback_.fetch_sub(1);
    };
  }
  /// Call right after the run's future is ready.
  void future_is_ready() { future_ready_.store(true); }

  [[nodiscard]] std::vector<Progress> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  [[nodiscard]] bool saw(std::uint64_t done) const {
    const auto all = seen();
    return !all.empty() && all.back().done == done;
  }
  /// The contract: no overlap, no call after ready, `done` strictly increasing (a report is
  /// delivered only when it moved on), `total` as the job reported it.
  void expect_contract_kept(std::uint64_t total) const {
    EXPECT_FALSE(overlapping_.load()) << "two calls at once for one run";
    EXPECT_FALSE(called_after_ready_.load()) << "a call after the future was ready";
    const auto all = seen();
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].total, total);
      EXPECT_GE(all[i].done, 1U);
      EXPECT_LE(all[i].done, total);
      if (i > 0) {
        EXPECT_GT(all[i].done, all[i - 1].done) << "done went back at report " << i;
      }
    }
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Progress> seen_;
  std::atomic<int> in_callback_{0};
  std::atomic<bool> overlapping_{false};
  std::atomic<bool> future_ready_{false};
  std::atomic<bool> called_after_ready_{false};
};

nlohmann::json report(std::uint64_t total, const char* then, int sleep_us = 0) {
  return {{"total", total}, {"then", then}, {"sleep_us", sleep_us}};
}

struct ProgressBoom : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Progressing : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::process && !detail::process_backend_available()) {
      GTEST_SKIP() << "built without the process backend";
    }
  }
  RunOptions options(ProgressCallback callback) const {
    return RunOptions{.backend = GetParam(), .on_progress = std::move(callback)};
  }
};

TEST_P(Progressing, TheLatestReportOfARunningJobReachesItsCallback) {
  ProgressLog log;
  CancellationToken token;
  auto future = CancellableIsolate::run(report_progress, report(1000, "wait"), token, options(log.callback()));
  EXPECT_TRUE(eventually([&] { return log.saw(1000); }, 20s)) << "the last report never arrived";
  token.cancel();
  EXPECT_THROW(future.get(), CancelledException);
  log.future_is_ready();
  log.expect_contract_kept(1000);
}

TEST_P(Progressing, ReportsOfAJobThatEndsKeepTheContractAndStopAtTheFuture) {
  ProgressLog log;
  auto future = CancellableIsolate::run(report_progress, report(300, "return", 500), {}, options(log.callback()));
  EXPECT_EQ(future.get(), "reported 300");
  log.future_is_ready();
  std::this_thread::sleep_for(100ms);  // a late call would land here (4 poll intervals)
  log.expect_contract_kept(300);
}

TEST_P(Progressing, AMillionReportsNeedNoListenerAndNoCallback) {
  // Without a callback the reports go nowhere; with one, a million of them are coalesced.
  EXPECT_EQ(CancellableIsolate::run(report_progress, report(1'000'000, "return"), {}, options({})).get(),
            "reported 1000000");
  ProgressLog log;
  EXPECT_EQ(CancellableIsolate::run(report_progress, report(1'000'000, "return"), {}, options(log.callback())).get(),
            "reported 1000000");
  log.future_is_ready();
  log.expect_contract_kept(1'000'000);
}

TEST_P(Progressing, ACallbackThatThrowsEndsItsRunWithItsException) {
  std::atomic<int> calls{0};
  auto future = CancellableIsolate::run(report_progress, report(10, "wait"), {}, options([&](const Progress&) {
                                          ++calls;
                                          throw ProgressBoom("the callback broke");
                                        }));
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready) << "the job still runs";
  EXPECT_THROW(future.get(), ProgressBoom);
  EXPECT_EQ(calls.load(), 1) << "a callback that threw is not called again";
}

TEST_P(Progressing, ACallbackMayCancelItsOwnRun) {
  // The callback holds its own handle of the token: its run's future may be ready (and this
  // test's locals gone) before the callback that cancelled it has returned.
  CancellationToken token;
  auto future = CancellableIsolate::run(report_progress, report(10, "wait"), token,
                                        options([token](const Progress&) mutable { token.cancel("enough"); }));
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  EXPECT_THROW(future.get(), CancelledException);
}

TEST_P(Progressing, APoolDeliversEachJobsOwnReports) {
  IsolatePool pool({.workers = 1, .backend = GetParam()});
  for (const std::uint64_t total : {700U, 900U}) {  // the same worker: the second must not see the first's 700
    ProgressLog log;
    CancellationToken token;
    auto future = pool.run(report_progress, report(total, "wait"), token, log.callback());
    EXPECT_TRUE(eventually([&] { return log.saw(total); }, 20s)) << "job of " << total;
    token.cancel();
    EXPECT_THROW(future.get(), CancelledException);
    log.future_is_ready();
    log.expect_contract_kept(total);
  }
  ProgressLog log;
  EXPECT_EQ(pool.run(report_progress, report(200, "return", 500), {}, log.callback()).get(), "reported 200");
  log.future_is_ready();
  log.expect_contract_kept(200);
}

TEST_P(Progressing, APoolJobWhoseCallbackThrowsFailsAloneAndThePoolGoesOn) {
  IsolatePool pool({.workers = 1, .backend = GetParam()});
  auto future =
      pool.run(report_progress, report(10, "wait"), {}, [](const Progress&) { throw ProgressBoom("pool callback"); });
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  EXPECT_THROW(future.get(), ProgressBoom);
  EXPECT_EQ(pool.run(echo, std::string("after")).get(), "after");
}

INSTANTIATE_TEST_SUITE_P(Backends, Progressing, ::testing::Values(Backend::process, Backend::thread),
                         [](const auto& test) { return test.param == Backend::process ? "process" : "thread"; });

}  // namespace
}  // namespace isolate::test
