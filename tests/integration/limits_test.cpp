// Integration tests of Limits: jobs that really allocate past memory_bytes, spin past cpu_time and
// return more than output_bytes end with ResourceLimitExceeded of that resource and limit (never
// WorkerCrashed or std::bad_alloc), on one-shot runs and pools; a pool goes on; a pool worker
// gives each job its whole CPU budget; the shared input does not count against memory; options
// out of range fail at run() or at the pool's construction. Real worker processes.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <future>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "escape_jobs.hpp"
#include "process_helpers.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;
using Resource = ResourceLimitExceeded::Resource;

constexpr std::size_t kMiB = std::size_t{1} << 20;

/// Where a test's jobs run: a one-shot run, or a pool of one worker made for the test.
enum class Target { run, pool };

class LimitsOn : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }

  template <class In, class Out>
  std::future<typename Job<In, Out>::Result> start(const Job<In, Out>& job, std::type_identity_t<In> input,
                                                   const Limits& limits) {
    if (GetParam() == Target::run) {
      return CancellableIsolate::run(job, std::move(input), {}, {.backend = Backend::process, .limits = limits});
    }
    if (!pool_)
      pool_ = std::make_unique<IsolatePool>(PoolOptions{.workers = 1, .backend = Backend::process, .limits = limits});
    return pool_->run(job, std::move(input));
  }

  /// The pool (if any) still serves after a job went over a limit.
  void expect_pool_goes_on() {
    if (pool_) {
      EXPECT_EQ(pool_->run(echo, std::string("on")).get(), "on");
    }
  }

  std::unique_ptr<IsolatePool> pool_;
};

template <class F>
void expect_limit_exceeded(F&& get, Resource resource, std::uint64_t limit) {
  try {
    get();
    FAIL() << "the job did not go over its limit";
  } catch (const ResourceLimitExceeded& e) {
    EXPECT_EQ(e.resource(), resource) << e.what();
    EXPECT_EQ(e.limit(), limit) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "expected ResourceLimitExceeded, got: " << e.what();
  }
}

/// True in a sanitizer build: its allocator reports an allocation it cannot satisfy and aborts,
/// and never calls the new_handler, so a job cannot go over a memory limit the way it does in a
/// normal build (the normal build's run of this suite checks it).
constexpr bool kSanitizerAllocator =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

TEST_P(LimitsOn, AllocatingPastTheMemoryLimitIsResourceLimitExceeded) {
  if (kSanitizerAllocator) GTEST_SKIP() << "the sanitizer's allocator aborts instead of failing an allocation";
  const Limits limits{.memory_bytes = 64 * kMiB};
  auto future = start(alloc_mib, 256, limits);
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::memory, 64 * kMiB);
  expect_pool_goes_on();
}

TEST_P(LimitsOn, AJobThatCatchesBadAllocStillEndsWithResourceLimitExceeded) {
  if (kSanitizerAllocator) GTEST_SKIP() << "the sanitizer's allocator aborts instead of failing an allocation";
  const Limits limits{.memory_bytes = 64 * kMiB};
  auto future = start(alloc_mib_caught, 256, limits);
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::memory, 64 * kMiB);
  expect_pool_goes_on();
}

TEST_P(LimitsOn, ABadAllocTheJobThrowsItselfUnderAMemoryLimitIsResourceLimitExceeded) {
  const Limits limits{.memory_bytes = 64 * kMiB};
  auto future = start(throw_named, std::string("bad_alloc"), limits);
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::memory, 64 * kMiB);
}

TEST_P(LimitsOn, TheHeapAWorkerGrewBeforeItsJobDoesNotAddToTheMemoryLimit) {
  if (kSanitizerAllocator) GTEST_SKIP() << "the sanitizer's allocator aborts instead of failing an allocation";
  // A worker's malloc starts with a 64 MiB top pad (worker_environment.hpp), grown before the
  // limit is set: 48 MiB under a 16 MiB limit must fail, not fit in that free heap.
  const Limits limits{.memory_bytes = 16 * kMiB};
  auto future = start(alloc_mib, 48, limits);
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::memory, 16 * kMiB);
  expect_pool_goes_on();
}

TEST_P(LimitsOn, AllocatingUnderTheMemoryLimitWorks) {
  EXPECT_EQ(start(alloc_mib, 16, {.memory_bytes = 64 * kMiB}).get(), 16);
}

TEST_P(LimitsOn, TheSharedInputDoesNotCountAgainstTheMemoryLimit) {
  std::vector<std::uint8_t> input(96 * kMiB, 1);
  const std::span<const std::uint8_t> view(input);
  EXPECT_EQ(start(span_sum, view, {.memory_bytes = 64 * kMiB}).get(), 96 * kMiB);
}

TEST_P(LimitsOn, APipedInputDoesNotCountAgainstTheMemoryLimit) {
  if (GetParam() == Target::pool) GTEST_SKIP() << "a FileInput is for one-shot runs";
  // 96 MiB through a pipe, read by the worker itself, under a 64 MiB limit.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::thread writer([fd = fds[1]] {
    // A worker that dies early closes the read end: EPIPE ends the writing, never a SIGPIPE.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    const std::vector<char> chunk(kMiB, 1);
    std::size_t left = 96 * kMiB;
    while (left > 0) {
      const auto n = ::write(fd, chunk.data(), std::min(left, chunk.size()));
      if (n <= 0) break;
      left -= static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  std::uint64_t sum = 0;
  std::string error;
  try {
    auto future = CancellableIsolate::run(span_sum, FileInput{fds[0]}, {},
                                          {.backend = Backend::process, .limits = {.memory_bytes = 64 * kMiB}});
    ::close(fds[0]);
    fds[0] = -1;
    sum = future.get();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (fds[0] >= 0) ::close(fds[0]);  // the writer then stops at EPIPE
  writer.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(sum, 96 * kMiB);
}

TEST_P(LimitsOn, AHugeMemoryLimitIsNoLimitRatherThanAnOverflow) {
  EXPECT_EQ(start(alloc_mib, 16, {.memory_bytes = std::numeric_limits<std::size_t>::max()}).get(), 16);
}

TEST_P(LimitsOn, SpinningPastTheCpuTimeLimitIsResourceLimitExceeded) {
  auto future = start(spin, std::string(), {.cpu_time = 200ms});
  ASSERT_EQ(future.wait_for(60s), std::future_status::ready) << "the CPU limit never stopped the job";
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::cpu_time, 200);
  expect_pool_goes_on();
}

TEST_P(LimitsOn, AJobThatBlocksSigxcpuAndDeletesItsCpuTimerIsStillStoppedAtItsCpuLimit) {
  // The job masks the timer's signal, deletes every POSIX timer and raises RLIMIT_CPU's soft
  // limit to the hard one: the kernel's SIGKILL at the hard limit ends it, within a few seconds
  // of CPU past its budget, and the worker's init reports it as the CPU limit.
  auto future = start(escape_attempt, nlohmann::json{{"try", "outlast-cpu-limit"}}, {.cpu_time = 200ms});
  ASSERT_EQ(future.wait_for(60s), std::future_status::ready) << "the job outlasted its CPU limit";
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::cpu_time, 200);
  expect_pool_goes_on();
}

TEST_P(LimitsOn, ASigkillUnderACpuLimitBeforeTheBudgetIsUsedIsACrashNotTheLimit) {
  auto future = start(crash_kind, std::string("kill"), {.cpu_time = 5000ms});
  try {
    (void)future.get();
    FAIL() << "the job did not die";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGKILL) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "expected WorkerCrashed(SIGKILL), got: " << e.what();
  }
  expect_pool_goes_on();
}

TEST_P(LimitsOn, AnOutputLargerThanTheLimitIsResourceLimitExceeded) {
  auto future = start(output_of, 1 << 20, {.output_bytes = 1000});
  expect_limit_exceeded([&] { (void)future.get(); }, Resource::output, 1000);
  expect_pool_goes_on();
}

TEST_P(LimitsOn, AnOutputWithinTheLimitIsDelivered) {
  EXPECT_EQ(start(output_of, 100, {.output_bytes = 1000}).get(), std::string(100, 'x'));
}

INSTANTIATE_TEST_SUITE_P(Targets, LimitsOn, ::testing::Values(Target::run, Target::pool),
                         [](const ::testing::TestParamInfo<Target>& target) {
                           return target.param == Target::run ? "run" : "pool";
                         });

class PoolLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
};

TEST_F(PoolLimits, EveryJobOfAWorkerGetsItsWholeCpuBudget) {
  // 3 x 250 ms of CPU on one worker under a 400 ms budget per job: each fits, their sum does not.
  IsolatePool pool({.workers = 1, .backend = Backend::process, .limits = {.cpu_time = 400ms}});
  const auto worker = pool.run(process_report, std::string()).get().at("pid").get<pid_t>();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.run(burn_cpu_ms, 250).get(), 250);
  EXPECT_EQ(pool.run(process_report, std::string()).get().at("pid").get<pid_t>(), worker)
      << "the worker was replaced: a job was charged with earlier jobs' CPU time";
}

TEST_F(PoolLimits, AWorkerWhoseCpuLimitHasNoRoomForAnotherJobIsReplacedAndNoJobFails) {
  // RLIMIT_CPU, set once per worker, keeps a reserve of two seconds of CPU for later jobs under a
  // 1 s budget: after about that much CPU the worker asks to be replaced. 20 jobs x 300 ms = 6 s.
  IsolatePool pool({.workers = 1, .backend = Backend::process, .limits = {.cpu_time = 1000ms}});
  std::set<pid_t> workers;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(pool.run(burn_cpu_ms, 300).get(), 300) << "job " << i;
    workers.insert(pool.run(process_report, std::string()).get().at("pid").get<pid_t>());
  }
  EXPECT_GE(workers.size(), 2u) << "the worker was never replaced: its RLIMIT_CPU had room for 6 s of jobs";
  EXPECT_LE(workers.size(), 6u) << "workers were replaced far more often than their reserve needs";
}

TEST_F(PoolLimits, AJobThatDisarmsItsCpuLimitAndReturnsLeavesTheNextJobAWorkingOne) {
  // Without the sandbox a job can ignore and block SIGXCPU and delete the worker's timer, then
  // return normally: the worker's next job starts with the handler, the signal and a timer back.
  IsolatePool pool({.workers = 1, .backend = Backend::process, .limits = {.cpu_time = 1000ms}});
  const auto state = [&pool] { return pool.run(escape_attempt, nlohmann::json{{"try", "cpu-limit-state"}}).get(); };
  const auto pid = [&pool] { return pool.run(process_report, std::string()).get().at("pid").get<pid_t>(); };
  const auto worker = pid();
  EXPECT_EQ(state(), "handled:1 blocked:0 timers:1");
  ASSERT_EQ(pool.run(escape_attempt, nlohmann::json{{"try", "disarm-cpu-limit"}}).get(), "ok");
  EXPECT_EQ(state(), "handled:1 blocked:0 timers:1") << "the disarmed limit outlived the job that disarmed it";
  EXPECT_EQ(pid(), worker) << "the worker was replaced: the test checked a fresh one";
}

TEST(LimitsBadInput, ANegativeCpuTimeIsInvalidArgumentAtRunAndAtThePool) {
  const Limits limits{.cpu_time = -1ms};
  EXPECT_THROW((void)CancellableIsolate::run(echo, std::string(), {}, {.limits = limits}), std::invalid_argument);
  EXPECT_THROW(IsolatePool({.workers = 1, .limits = limits}), std::invalid_argument);
}

TEST(LimitsBadInput, AMemoryLimitTooSmallForAWorkerIsInvalidArgument) {
  const Limits limits{.memory_bytes = 1 * kMiB};
  EXPECT_THROW((void)CancellableIsolate::run(echo, std::string(), {}, {.limits = limits}), std::invalid_argument);
  EXPECT_THROW(IsolatePool({.workers = 1, .limits = limits}), std::invalid_argument);
}

TEST(LimitsBadInput, LimitsOnTheThreadBackendAreAnIsolateErrorNeverASilentRun) {
  const Limits limits{.memory_bytes = 64 * kMiB};
  EXPECT_THROW((void)CancellableIsolate::run(echo, std::string(), {}, {.backend = Backend::thread, .limits = limits}),
               IsolateError);
  EXPECT_THROW(IsolatePool({.workers = 1, .backend = Backend::thread, .limits = limits}), IsolateError);
}

TEST(SandboxBadInput, AReadablePathThatDoesNotExistIsInvalidArgument) {
  const Sandbox sandbox{.enabled = true, .readable = {"/no/such/path/for/isolate"}};
  EXPECT_THROW((void)CancellableIsolate::run(echo, std::string(), {}, {.sandbox = sandbox}), std::invalid_argument);
  EXPECT_THROW(IsolatePool({.workers = 1, .sandbox = sandbox}), std::invalid_argument);
}

TEST(SandboxBadInput, ASandboxThatCannotBeEnforcedIsAnIsolateErrorNeverASilentRun) {
  if (Sandbox::available()) GTEST_SKIP() << "the sandbox is enforced here";
  const Sandbox sandbox{.enabled = true};
  EXPECT_THROW((void)CancellableIsolate::run(echo, std::string(), {}, {.sandbox = sandbox}), IsolateError);
  EXPECT_THROW(IsolatePool({.workers = 1, .sandbox = sandbox}), IsolateError);
}

}  // namespace
}  // namespace isolate::test
