// Integration tests of IsolatePool: warm worker processes (this binary re-executed) reused over
// their shared-memory channels, the FIFO queue, cancellation, replacement and shutdown; and the
// thread-backed pool with the same API.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "pid_file.hpp"
#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

class ProcessPool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
  static PoolOptions options(std::size_t workers) {
    return PoolOptions{.workers = workers, .backend = Backend::process};
  }
};

pid_t worker_pid(IsolatePool& pool) { return pool.run(process_report, std::string()).get().at("pid").get<pid_t>(); }

/// Waits until this process has a child that is sleeping: a worker still starting (it waits
/// ISOLATE_TEST_WORKER_START_DELAY_MS before it attaches). Returns its pid.
pid_t wait_for_starting_worker() {
  pid_t found = 0;
  EXPECT_TRUE(eventually(
      [&] {
        for (const pid_t pid : child_pids()) {
          if (wait_until_sleeping(pid, 0ms)) {
            found = pid;
            return true;
          }
        }
        return false;
      },
      20s))
      << "no worker started";
  return found;
}

TEST_F(ProcessPool, AWorkerIsReplacedAfterMaxJobsPerWorkerAndQueuedJobsAllComplete) {
  auto opts = options(1);
  opts.max_jobs_per_worker = 2;
  IsolatePool pool(opts);
  std::vector<std::future<nlohmann::json>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.run(process_report, std::string()));
  std::vector<pid_t> pids;
  for (auto& f : queued) pids.push_back(f.get().at("pid").get<pid_t>());
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_EQ(std::set<pid_t>(pids.begin(), pids.end()).size(), 3u) << ::testing::PrintToString(pids);
}

// CPython's gh-115634: with max_tasks_per_child, a pool deadlocked when workers were replaced
// while jobs were queued. One job per worker, many queued, on two workers: every job completes.
TEST_F(ProcessPool, OneJobPerWorkerWithManyQueuedCompletesEveryJob) {
  auto opts = options(2);
  opts.max_jobs_per_worker = 1;
  IsolatePool pool(opts);
  std::vector<std::future<std::string>> queued;
  for (int i = 0; i < 24; ++i) queued.push_back(pool.run(echo, std::to_string(i)));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].get(), std::to_string(i));
}

TEST_F(ProcessPool, ASequentialCallerKeepsGettingTheSameWarmWorker) {
  // The slot is freed before the future is ready: the next run finds it idle, and a pool takes
  // its lowest idle worker, so a steady caller's heap stays warm in one worker.
  IsolatePool pool(options(2));
  // Both workers ready first: two jobs that wait for each other can only end on two workers.
  const TempDir meeting;
  auto a = pool.run(rendezvous, meeting.path().string());
  auto b = pool.run(rendezvous, meeting.path().string());
  ASSERT_NE(a.get(), b.get());
  const pid_t first = worker_pid(pool);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(worker_pid(pool), first) << "run " << i;
}

TEST_F(ProcessPool, AViewInputIsZeroPaddedEvenOverALongerEarlierRequest) {
  IsolatePool pool(options(1));
  const std::string long_input(4096, 'x');
  (void)pool.run(view_padding, std::string_view(long_input)).get();
  EXPECT_EQ(pool.run(view_padding, std::string_view("[]")).get(), std::string(64, '\0'));
}

TEST_F(ProcessPool, SizeIsTheNumberOfWorkers) {
  IsolatePool pool(options(3));
  EXPECT_EQ(pool.size(), 3u);
}

TEST_F(ProcessPool, ReusesItsWarmWorkerForEveryJob) {
  IsolatePool pool(options(1));
  const pid_t first = worker_pid(pool);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pool.run(echo, std::to_string(i)).get(), std::to_string(i));
  EXPECT_EQ(worker_pid(pool), first);
  EXPECT_NE(first, ::getpid());
}

TEST_F(ProcessPool, RoundTripsBytesJsonTypesAndLargePayloads) {
  IsolatePool pool(options(2));
  nlohmann::json doc = {{"k", {1, 2.5, "three", nullptr}}};
  EXPECT_EQ(pool.run(echo_json, doc).get(), doc);
  EXPECT_EQ(pool.run(mirror_point, Point{1, 2, "x"}).get(), (Point{2, 1, "x!"}));
  std::vector<std::uint8_t> big(32u << 20);
  std::mt19937 random(3);
  for (auto& b : big) b = static_cast<std::uint8_t>(random());
  EXPECT_TRUE(pool.run(echo_bytes, big).get() == big);  // grows both ways through the channel
  EXPECT_EQ(pool.run(echo, std::string("small after big")).get(), "small after big");
}

TEST_F(ProcessPool, ViewInputIsReadInPlaceFromTheWorkersChannel) {
  IsolatePool pool(options(1));
  const std::string text(2u << 20, 'p');
  const auto mapping = pool.run(view_mapping, std::string_view(text)).get();
  EXPECT_NE(mapping.find("/memfd:isolate-shm"), std::string::npos) << mapping;
  EXPECT_EQ(pool.run(view_reverse, std::string_view("abc")).get(), "cba");
}

// A queued job is encoded after run() has returned, by another thread: its view input must have
// been copied by then. ASan turns a missed copy into a use-after-free report.
TEST_F(ProcessPool, QueuedViewInputSurvivesTheCallersBuffer) {
  IsolatePool pool(options(1));
  auto busy = pool.run(sleep_ms, 150);
  auto text = std::make_unique<std::string>("queued view");
  auto bytes = std::make_unique<std::vector<std::uint8_t>>(std::vector<std::uint8_t>{1, 2, 3, 4});
  auto reversed = pool.run(view_reverse, std::string_view(*text));
  auto sum = pool.run(span_sum, std::span<const std::uint8_t>(*bytes));
  text->assign(text->size(), 'x');
  text.reset();
  bytes.reset();
  EXPECT_EQ(reversed.get(), "weiv deueuq");
  EXPECT_EQ(sum.get(), 10u);
  EXPECT_EQ(busy.get(), 150);
}

// A view output: bytes of the job's input travel back in place, any other view is copied; the
// caller gets the owned buffer.
TEST_F(ProcessPool, ViewOutputsComeBackAsTheirOwnedBuffers) {
  IsolatePool pool(options(1));
  std::future<std::string> tail = pool.run(view_tail, "xyz");
  EXPECT_EQ(tail.get(), "yz");
  EXPECT_EQ(pool.run(view_static, std::string_view("in")).get(), "static bytes");
  EXPECT_EQ(pool.run(owned_head, std::string("headless")).get(), "hea");
  EXPECT_EQ(pool.run(view_tail, std::string_view()).get(), "");
  std::vector<std::uint8_t> big(24u << 20);  // past the channel's size: the worker sees it grown
  std::mt19937 random(5);
  for (auto& b : big) b = static_cast<std::uint8_t>(random());
  EXPECT_TRUE(pool.run(echo_span, std::span<const std::uint8_t>(big)).get() == big);
}

// A buffer handed over to a job with a view input (moved in) is kept by the pool, read by the
// worker in place, and receives the output when it is of the same type: no fresh allocation.
TEST_F(ProcessPool, AHandedOverBufferReceivesTheOutput) {
  IsolatePool pool(options(1));
  std::vector<std::uint8_t> big(8u << 20);
  std::mt19937 random(8);
  for (auto& b : big) b = static_cast<std::uint8_t>(random());
  const auto expected = big;
  const auto* allocation = big.data();
  const auto echoed = pool.run(echo_span, std::move(big)).get();
  EXPECT_EQ(echoed.data(), allocation) << "the output was decoded into the handed-over buffer";
  EXPECT_TRUE(echoed == expected);
  // A small output does not keep a large buffer.
  std::string large(1u << 20, 'l');
  const auto small = pool.run(view_static, std::move(large)).get();
  EXPECT_EQ(small, "static bytes");
  EXPECT_LT(small.capacity(), 1u << 20);
}

// Queued behind a busy worker, the job keeps the handed-over buffer itself (no copy): the output
// comes back in the same allocation.
TEST_F(ProcessPool, AQueuedJobKeepsItsHandedOverBuffer) {
  IsolatePool pool(options(1));
  auto busy = pool.run(sleep_ms, 150);
  std::vector<std::uint8_t> bytes(1u << 20, 9);
  const auto* allocation = bytes.data();
  auto echoed = pool.run(echo_span, std::move(bytes));
  EXPECT_EQ(echoed.wait_for(0s), std::future_status::timeout) << "queued behind the busy worker";
  const auto out = echoed.get();
  EXPECT_EQ(out.data(), allocation);
  EXPECT_EQ(out, std::vector<std::uint8_t>(1u << 20, 9));
  EXPECT_EQ(busy.get(), 150);
}

TEST_F(ProcessPool, AHandedOverBufferIsConsumedAndAnLvalueOnlyViewed) {
  IsolatePool pool(options(1));
  std::vector<std::uint8_t> kept{1, 2, 3};
  EXPECT_EQ(pool.run(echo_span, kept).get(), kept);
  EXPECT_EQ(kept, (std::vector<std::uint8_t>{1, 2, 3})) << "an lvalue is viewed, not taken";
  CancellationToken cancelled;
  cancelled.cancel();
  std::vector<std::uint8_t> given{4, 5, 6};
  EXPECT_THROW(pool.run(echo_span, std::move(given), cancelled).get(), CancelledException);
  EXPECT_TRUE(given.empty()) << "a handed-over buffer is consumed even when the job never runs";
}

TEST_F(ProcessPool, CancellingAJobWithAHandedOverBufferKillsItsWorker) {
  IsolatePool pool(options(1));
  const pid_t before = worker_pid(pool);
  CancellationToken token;
  auto f = pool.run(spin_view, std::string(1u << 20, 's'), token);
  std::this_thread::sleep_for(20ms);
  token.cancel();
  EXPECT_THROW(f.get(), CancelledException);
  EXPECT_TRUE(pid_gone(before));
  EXPECT_EQ(pool.run(view_tail, std::string("next")).get(), "ext");
}

// A worker keeps the heap a job freed (the next job reuses warm pages), and gives it back once
// idle for ten seconds. Sanitizer builds replace malloc, whose memory this is not about.
TEST_F(ProcessPool, AnIdleWorkerGivesBackTheHeapItKeptForTheNextJob) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers' allocators keep their own memory";
#endif
  IsolatePool pool(options(1));
  const pid_t worker = worker_pid(pool);
  const auto rss_mib = [&] {
    return std::stol(proc_status_field("/proc/" + std::to_string(worker) + "/status", "VmRSS")) / 1024;
  };
  EXPECT_EQ(pool.run(alloc_mib, 256).get(), 256);  // touched, then freed by the job
  EXPECT_GE(rss_mib(), 200) << "freed heap is kept for the next job";
  EXPECT_TRUE(eventually([&] { return rss_mib() < 64; }, 60s)) << "still " << rss_mib() << " MiB after idling";
  EXPECT_EQ(pool.run(alloc_mib, 8).get(), 8) << "and it serves on";
}

TEST_F(ProcessPool, JobExceptionsComeBackAsForCancellableIsolate) {
  IsolatePool pool(options(1));
  EXPECT_THROW(pool.run(throw_named, std::string("invalid_argument")).get(), std::invalid_argument);
  EXPECT_THROW(pool.run(throw_named, std::string("quota")).get(), QuotaExceeded);
  EXPECT_THROW(pool.run(throw_named, std::string("unregistered")).get(), JobError);
  EXPECT_EQ(pool.run(echo, std::string("still serving")).get(), "still serving");
}

TEST_F(ProcessPool, QueuedJobsRunInSubmissionOrder) {
  IsolatePool pool(options(1));
  auto slow = pool.run(sleep_ms, 200);
  std::vector<std::future<std::string>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.run(echo, std::to_string(i)));
  queued.back().wait();
  for (auto& f : queued) EXPECT_EQ(f.wait_for(0s), std::future_status::ready) << "FIFO: earlier jobs finish first";
  EXPECT_EQ(slow.wait_for(0s), std::future_status::ready);
}

TEST_F(ProcessPool, CancelledQueuedJobLeavesTheQueueWithoutTouchingAWorker) {
  IsolatePool pool(options(1));
  TempDir dir;
  CancellationToken busy;
  auto running = pool.run(spin, (dir / "pid").string(), busy);
  const pid_t worker = wait_for_pid_file(dir / "pid");
  CancellationToken token;
  auto queued = pool.run(echo, std::string("never"), token);
  token.cancel("not needed");
  ASSERT_EQ(queued.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(queued.get(), CancelledException);
  EXPECT_FALSE(pid_gone(worker)) << "cancelling a queued job must not touch the busy worker";
  EXPECT_FALSE(token.has_callbacks());
  busy.cancel();
  EXPECT_THROW(running.get(), CancelledException);
}

TEST_F(ProcessPool, CancellingARunningJobKillsOnlyItsWorkerWhichIsReplaced) {
  IsolatePool pool(options(2));
  TempDir dir;
  CancellationToken first_token;
  CancellationToken second_token;
  auto first = pool.run(spin, (dir / "a").string(), first_token);
  auto second = pool.run(spin, (dir / "b").string(), second_token);
  const pid_t a = wait_for_pid_file(dir / "a");
  const pid_t b = wait_for_pid_file(dir / "b");
  first_token.cancel();
  ASSERT_EQ(first.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(first.get(), CancelledException);
  EXPECT_TRUE(pid_gone(a)) << "the cancelled job's worker is killed and reaped";
  EXPECT_FALSE(pid_gone(b)) << "the other worker is untouched";
  // The replacement serves the next job while b still spins.
  EXPECT_EQ(pool.run(echo, std::string("after cancel")).get(), "after cancel");
  second_token.cancel();
  EXPECT_THROW(second.get(), CancelledException);
  EXPECT_EQ(pool.size(), 2u);
}

TEST_F(ProcessPool, CrashedWorkerGivesWorkerCrashedAndIsReplaced) {
  IsolatePool pool(options(1));
  try {
    pool.run(crash, std::string()).get();
    FAIL() << "expected WorkerCrashed";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGSEGV);
  }
  EXPECT_EQ(pool.run(echo, std::string("replaced")).get(), "replaced");
}

TEST_F(ProcessPool, DestructorCompletesRunningAndQueuedJobsAndReapsEveryWorker) {
  const auto before = child_pids();
  std::future<std::string> running;
  std::future<std::string> queued;
  pid_t worker = 0;
  {
    IsolatePool pool(options(1));
    TempDir dir;
    running = pool.run(spin, (dir / "pid").string());
    worker = wait_for_pid_file(dir / "pid");
    queued = pool.run(echo, std::string("queued"));
  }
  for (auto* f : {&running, &queued}) {
    try {
      f->get();
      FAIL() << "expected CancelledException";
    } catch (const CancelledException& e) {
      EXPECT_EQ(e.reason(), "pool destroyed");
    }
  }
  EXPECT_TRUE(pid_gone(worker));
  EXPECT_EQ(child_pids(), before);
}

TEST_F(ProcessPool, WorkerThatNeverBecomesReadyFailsWithIsolateErrorAndStopsRespawning) {
  IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::process, .worker_executable = "/bin/true"});
  EXPECT_THROW(pool.run(echo, std::string("x")).get(), IsolateError);
  // After repeated start failures the pool says so at once instead of respawning forever.
  ASSERT_TRUE(eventually(
      [&] {
        auto f = pool.run(echo, std::string("y"));
        try {
          f.get();
        } catch (const IsolateError& e) {
          return std::string(e.what()).find("before attaching to its job") != std::string::npos;
        }
        return false;
      },
      20s));
}

// A cancel kills the job's worker even while that worker is still starting. The pool must count
// that as its own kill, not as a worker that failed to start: five such kills in a row (three
// broke the pool before) leave it serving.
TEST_F(ProcessPool, CancelsThatKillStartingWorkersNeverBreakThePool) {
  ScopedEnv slow_start("ISOLATE_TEST_WORKER_START_DELAY_MS", "300");
  IsolatePool pool(options(1));
  int kills = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (kills < 5 && std::chrono::steady_clock::now() < deadline) {
    const pid_t starting = wait_for_starting_worker();
    CancellationToken token;
    auto f = pool.run(echo, std::string("x"), token);
    token.cancel();
    EXPECT_THROW(f.get(), CancelledException);
    // Gone: the job had reached the starting worker, which the cancel killed. Else the job was
    // still queued (the pool had not yet taken the new worker in) and simply left the queue: give
    // the pool a moment before the next try.
    if (pid_gone(starting)) {
      ++kills;
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  ASSERT_EQ(kills, 5);
  EXPECT_EQ(pool.run(echo, std::string("alive")).get(), "alive");
}

TEST_F(ProcessPool, ManyThreadsWithRandomCancelsEveryFutureCompletes) {
  IsolatePool pool(options(2));
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t) + 10);
      for (int i = 0; i < 30; ++i) {
        CancellationToken token;
        auto f = pool.run(sleep_ms, static_cast<int>(random() % 3), token);
        if (random() % 3 == 0) token.cancel();
        try {
          EXPECT_LT(f.get(), 3);
        } catch (const CancelledException&) {
        }
        EXPECT_FALSE(token.has_callbacks());
        ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 120);
  EXPECT_EQ(pool.run(echo, std::string("alive")).get(), "alive");
}

// --- the thread-backed pool -------------------------------------------------------------------

TEST(ThreadPool, RunsJobsWithTheSameApi) {
  IsolatePool pool(PoolOptions{.workers = 2, .backend = Backend::thread});
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.run(echo, std::string("t")).get(), "t");
  EXPECT_EQ(pool.run(mirror_point, Point{7, 8, "z"}).get(), (Point{8, 7, "z!"}));
  EXPECT_THROW(pool.run(throw_named, std::string("unregistered")).get(), Unregistered);
}

TEST(ThreadPool, QueuedViewInputSurvivesTheCallersBuffer) {
  IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::thread});
  auto busy = pool.run(sleep_ms, 100);
  auto text = std::make_unique<std::string>("thread view");
  auto reversed = pool.run(view_reverse, std::string_view(*text));
  text->assign(text->size(), 'x');
  text.reset();
  EXPECT_EQ(reversed.get(), "weiv daerht");
  EXPECT_EQ(busy.get(), 100);
}

TEST(ThreadPool, ViewOutputsAndHandedOverBuffersGiveTheSameResultsAsProcesses) {
  IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::thread});
  auto busy = pool.run(sleep_ms, 50);
  auto queued = pool.run(view_tail, std::string("queued buffer"));
  EXPECT_EQ(pool.run(view_static, "in").get(), "static bytes");
  EXPECT_EQ(pool.run(owned_head, std::string("headless")).get(), "hea");
  const std::vector<std::uint8_t> bytes{1, 2, 3};
  EXPECT_EQ(pool.run(echo_span, std::vector<std::uint8_t>(bytes)).get(), bytes);
  EXPECT_EQ(queued.get(), "ueued buffer");
  EXPECT_EQ(busy.get(), 50);
}

TEST(ThreadPool, CancelCompletesAtOnceAndRequestsStop) {
  IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::thread});
  CancellationToken token;
  auto f = pool.run(wait_for_stop, std::string(), token);
  auto queued = pool.run(echo, std::string("next"));
  token.cancel();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(f.get(), CancelledException);
  EXPECT_EQ(queued.get(), "next") << "the job saw stop_requested() and freed its thread";
}

TEST(ThreadPool, DestructorRequestsStopCompletesEveryFutureAndJoins) {
  std::future<std::string> running;
  std::future<std::string> queued;
  {
    IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::thread});
    running = pool.run(wait_for_stop, std::string());
    queued = pool.run(echo, std::string("never"));
  }
  EXPECT_THROW(running.get(), CancelledException);
  EXPECT_THROW(queued.get(), CancelledException);
}

}  // namespace
}  // namespace isolate::test
