// Fault suite: random cancel storms. Two threads keep 1 to 64 jobs in flight between them (the
// window changes every 64 jobs), each job cancelled at a random moment or not at all: before
// run(), right after it, or by a timeout of 0-3 ms on the timer thread. One-shot runs and pools,
// on both backends. Every job must end, as its value or its token's exact exception; nothing may
// be left: no hung future, no wrong outcome, no broken pool, no zombie, no fd, no /dev/shm entry.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fault_scale.hpp"
#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSanitizerDivisor = 2;  // a sanitized worker takes ~10× longer to start
#else
constexpr int kSanitizerDivisor = 1;
#endif

/// Starts `job` with `input` on the storm's target.
using Starter = std::function<std::future<std::string>(const Job<std::string, std::string>& job, std::string input,
                                                       CancellationToken token)>;

struct Figures {
  std::atomic<int> jobs{0}, values{0}, cancelled{0}, hung{0}, wrong{0}, registrations_left{0};
  std::mutex mutex;
  std::vector<std::string> wrong_samples;

  void record_wrong(std::string what) {
    ++wrong;
    std::lock_guard lock(mutex);
    if (wrong_samples.size() < 5) wrong_samples.push_back(std::move(what));
  }
};

/// One job in flight and what it may end as.
struct InFlight {
  std::future<std::string> future;
  CancellationToken token;
  std::string value;   // what it returns if it completes ("" for a job that never ends)
  std::string reason;  // its token's exact reason, if the token fires
  bool token_fires;    // the token surely wins (it was cancelled before run())
};

void check(InFlight& job, Figures& figures) {
  ++figures.jobs;
  if (job.future.wait_for(60s) != std::future_status::ready) {
    ++figures.hung;
    job.token.cancel("unstick");  // let it end, so the storm can go on
    job.future.wait();
    return;
  }
  try {
    auto value = job.future.get();
    if (job.token_fires || job.value.empty() || value != job.value) {
      figures.record_wrong("value '" + value.substr(0, 20) + "' for a job expecting '" + job.value.substr(0, 20) + "'");
    }
    ++figures.values;
  } catch (const CancelledException& e) {
    if (e.reason() != job.reason) figures.record_wrong("reason '" + e.reason() + "', not '" + job.reason + "'");
    ++figures.cancelled;
  } catch (const std::exception& e) {
    figures.record_wrong(std::string("error: ") + e.what());
  }
  if (job.token.has_callbacks()) ++figures.registrations_left;
}

/// One storm thread: `jobs` jobs, 1 to `max_window` in flight.
void storm(const Starter& start, const Job<std::string, std::string>& never_ending, int jobs, int max_window,
           unsigned seed, Figures& figures) {
  std::mt19937 random(seed);
  const int windows[] = {1, 2, 4, 8, 16, 32, 64};
  int window = 1;
  std::deque<InFlight> in_flight;
  for (int n = 0; n < jobs; ++n) {
    if (n % 64 == 0) window = std::min(windows[random() % 7], max_window);
    InFlight job;
    job.reason = "job " + std::to_string(seed) + "/" + std::to_string(n);
    const auto kind = random() % 4;  // 0, 1: a small echo; 2: a larger one; 3: never ends
    const auto plan = kind == 3 ? 1 + random() % 3 : random() % 4;  // 0: never cancelled
    std::string input;
    if (kind < 3) {
      input.assign(kind == 2 ? 1 + random() % (256u << 10) : 1 + random() % 64, static_cast<char>('a' + n % 26));
      job.value = input;
    }
    if (plan == 1) job.token.cancel(job.reason);
    if (plan == 3) {
      job.token = TimeoutCancellationToken(std::chrono::microseconds(random() % 3000),
                                           {.exception = std::make_exception_ptr(CancelledException(job.reason))});
    }
    // Only a token cancelled before run() surely wins: a job may end before a cancel right after
    // run() (an echo on a thread that was idle, say), and then its value is the right outcome.
    job.token_fires = plan == 1;
    job.future = start(kind == 3 ? never_ending : echo, std::move(input), job.token);
    if (plan == 2) job.token.cancel(job.reason);
    in_flight.push_back(std::move(job));
    while (static_cast<int>(in_flight.size()) >= window) {
      check(in_flight.front(), figures);
      in_flight.pop_front();
    }
  }
  for (auto& job : in_flight) check(job, figures);
}

std::size_t open_fd_count() { return open_fds(::getpid()).size(); }

/// Where a storm's jobs go: a one-shot run, or a pool made for the storm and destroyed after it.
class Target {
 public:
  virtual ~Target() = default;
  virtual std::future<std::string> start(const Job<std::string, std::string>& job, std::string input,
                                         CancellationToken token) = 0;
};

class OneShot final : public Target {
 public:
  explicit OneShot(Backend backend) : backend_(backend) {}
  std::future<std::string> start(const Job<std::string, std::string>& job, std::string input,
                                 CancellationToken token) override {
    return CancellableIsolate::run(job, std::move(input), token, {.backend = backend_});
  }

 private:
  Backend backend_;
};

class Pool final : public Target {
 public:
  explicit Pool(Backend backend) : pool_({.workers = 4, .backend = backend}) {}
  ~Pool() override {
    try {
      EXPECT_EQ(pool_.run(echo, std::string("alive")).get(), "alive");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the pool broke: " << e.what();
    }
  }
  std::future<std::string> start(const Job<std::string, std::string>& job, std::string input,
                                 CancellationToken token) override {
    return pool_.run(job, std::move(input), token);
  }

 private:
  IsolatePool pool_;
};

/// Runs the storm from two threads against a target made for it (and destroyed after it), and
/// checks what it must leave behind.
void run_storm(const char* name, Backend backend, bool pool, const Job<std::string, std::string>& never_ending,
               int jobs) {
  // Warm up: the library's threads and the supervisor's fds exist before we count. The warm-up
  // run's own segment and pidfd go a moment after its future is ready: count once they are gone.
  (void)CancellableIsolate::run(echo, std::string("warm up"), {}, {.backend = backend}).get();
  const auto children = child_pids();
  std::size_t fds = 0;
  EXPECT_TRUE(eventually([&] {
    const auto first = open_fd_count();
    std::this_thread::sleep_for(20ms);
    fds = open_fd_count();
    return fds == first;
  }));
  const auto shm = shm_names();
  Figures figures;
  const auto begin = std::chrono::steady_clock::now();
  {
    std::unique_ptr<Target> target;
    if (pool) {
      target = std::make_unique<Pool>(backend);
    } else {
      target = std::make_unique<OneShot>(backend);
    }
    auto start = [&](const auto& job, std::string input, CancellationToken token) {
      return target->start(job, std::move(input), std::move(token));
    };
    std::thread other([&] { storm(start, never_ending, jobs / 2, 32, 2, figures); });
    storm(start, never_ending, jobs - jobs / 2, 32, 1, figures);
    other.join();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_EQ(figures.jobs.load(), jobs);
  EXPECT_EQ(figures.hung.load(), 0);
  EXPECT_EQ(figures.wrong.load(), 0) << (figures.wrong_samples.empty() ? "" : figures.wrong_samples.front());
  EXPECT_EQ(figures.registrations_left.load(), 0) << "a token kept a registration after its job's future was ready";
  EXPECT_TRUE(eventually([&] { return child_pids() == children; }, 10s)) << "a worker or a zombie was left";
  EXPECT_TRUE(eventually([&] { return open_fd_count() == fds; }, 10s))
      << "fds: " << open_fd_count() << " after, " << fds << " before";
  EXPECT_EQ(shm_names(), shm);
  std::printf(
      "[ figures  ] %s: %d jobs in %.1f s, 1-64 in flight: %d values, %d cancelled; %d hung, %d wrong, "
      "%d registrations left\n",
      name, figures.jobs.load(), seconds, figures.values.load(), figures.cancelled.load(), figures.hung.load(),
      figures.wrong.load(), figures.registrations_left.load());
}

TEST(CancelStorm, OneShotProcessRunsEndAsTheirValueOrTheirTokensExactException) {
  if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  run_storm("one-shot runs, processes", Backend::process, false, spin, 1000 * fault_scale() / kSanitizerDivisor);
}

TEST(CancelStorm, ProcessPoolJobsEndAsTheirValueOrTheirTokensExactExceptionAndThePoolGoesOn) {
  if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  // Not fewer under sanitizers: TSan found the respawn race of a slot's control words only in
  // storms of this size.
  run_storm("pool of 4 processes", Backend::process, true, spin, 4000 * fault_scale());
}

TEST(CancelStorm, OneShotThreadRunsEndAsTheirValueOrTheirTokensExactException) {
  run_storm("one-shot runs, threads", Backend::thread, false, wait_for_stop, 4000 * fault_scale());
}

TEST(CancelStorm, ThreadPoolJobsEndAsTheirValueOrTheirTokensExactExceptionAndThePoolGoesOn) {
  run_storm("pool of 4 threads", Backend::thread, true, wait_for_stop, 4000 * fault_scale());
}

}  // namespace
}  // namespace isolate::test
