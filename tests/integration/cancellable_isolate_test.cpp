// Integration tests of CancellableIsolate::run: every test starts real worker processes (this
// binary re-executed; its jobs are in tests/support/test_jobs.cpp).
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "pid_file.hpp"
#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

RunOptions process_backend() { return RunOptions{.backend = Backend::process}; }

/// Tests of the process backend: skipped in builds without it (ISOLATE_PROCESS_BACKEND=OFF).
class ProcessIsolate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
};

// The whole suite must leave no child process and no /dev/shm name behind.
class LeakCheck : public ::testing::Environment {
 public:
  void SetUp() override {
    children_ = child_pids();
    shm_ = shm_names();
  }
  void TearDown() override {
    // Runs finished before TearDown; their workers are reaped before the futures became ready,
    // the relay of a cancelled one (which runs no job code) by the supervisor right after.
    EXPECT_TRUE(eventually([&] { return child_pids() == children_; }, std::chrono::seconds(10)))
        << "a worker process outlived the suite";
    EXPECT_EQ(shm_names(), shm_) << "a /dev/shm entry outlived the suite";
  }

 private:
  std::set<pid_t> children_;
  std::set<std::string> shm_;
};
[[maybe_unused]] auto* const leak_check = ::testing::AddGlobalTestEnvironment(new LeakCheck);

TEST_F(ProcessIsolate, EchoReturnsTheInputByteExact) {
  static constexpr char kBytes[] = "binary\0payload\xff with \"quotes\" and \\";
  const std::string input(kBytes, sizeof kBytes - 1);
  EXPECT_EQ(CancellableIsolate::run(echo, input, {}, process_backend()).get(), input);
}

TEST_F(ProcessIsolate, EmptyInputRoundTrips) {
  EXPECT_EQ(CancellableIsolate::run(echo, std::string(), {}, process_backend()).get(), "");
}

TEST_F(ProcessIsolate, ThirtyTwoMebibyteBinaryPayloadRoundTripsByteExact) {
  std::vector<std::uint8_t> payload(32u << 20);
  std::mt19937 random(7);
  for (auto& b : payload) b = static_cast<std::uint8_t>(random());
  const auto back = CancellableIsolate::run(echo_bytes, payload, {}, process_backend()).get();
  ASSERT_EQ(back.size(), payload.size());
  EXPECT_TRUE(back == payload);
}

TEST_F(ProcessIsolate, JsonAndTypesWithToJsonRoundTrip) {
  nlohmann::json doc = {{"name", "isolate"}, {"n", -12345678901234}, {"pi", 3.25}, {"list", {1, "two", nullptr, true}}};
  EXPECT_EQ(CancellableIsolate::run(echo_json, doc, {}, process_backend()).get(), doc);
  EXPECT_EQ(CancellableIsolate::run(mirror_point, Point{1, 2, "p"}, {}, process_backend()).get(), (Point{2, 1, "p!"}));
}

// A std::string_view / std::span input is read by the worker where the parent wrote it: in the
// shared segment, not in a copy on the worker's heap. The caller's bytes need only live during
// the run() call.
TEST_F(ProcessIsolate, ViewInputIsReadInPlaceFromTheSharedSegment) {
  const std::string text(1u << 20, 'v');
  const auto mapping = CancellableIsolate::run(view_mapping, std::string_view(text), {}, process_backend()).get();
  EXPECT_NE(mapping.find("/memfd:isolate-shm"), std::string::npos) << mapping;
}

TEST_F(ProcessIsolate, AViewInputIsFollowedByTheZeroPaddingTheContextAnnounces) {
  const auto padding =
      CancellableIsolate::run(view_padding, std::string_view("{\"a\": 1}"), {}, process_backend()).get();
  EXPECT_EQ(padding, std::string(64, '\0'));
}

TEST_F(ProcessIsolate, WorkerMallocStartsOnHugePagesWithATopPad) {
  const ScopedEnv none_of_the_hosts("GLIBC_TUNABLES", "");
  const auto tunables = CancellableIsolate::run(env_value, std::string("GLIBC_TUNABLES"), {}, process_backend()).get();
  EXPECT_NE(tunables.find("glibc.malloc.hugetlb=1"), std::string::npos) << tunables;
  EXPECT_NE(tunables.find("glibc.malloc.top_pad=67108864"), std::string::npos) << tunables;
}

TEST_F(ProcessIsolate, MallocTunablesTheHostSetWinAndTheOthersAreKept) {
  // Each test runs in a process of its own (gtest_discover_tests): no worker is being spawned.
  const ScopedEnv hosts("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2");
  const auto tunables = CancellableIsolate::run(env_value, std::string("GLIBC_TUNABLES"), {}, process_backend()).get();
  EXPECT_EQ(tunables, "glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2:glibc.malloc.top_pad=67108864");
}

TEST_F(ProcessIsolate, ViewInputsRoundTripAndNeedTheCallersBytesOnlyDuringTheCall) {
  auto text = std::make_unique<std::string>(3u << 20, '\0');
  std::mt19937 random(11);
  for (auto& c : *text) c = static_cast<char>(random());
  const std::string expected(text->rbegin(), text->rend());
  auto reversed = CancellableIsolate::run(view_reverse, std::string_view(*text), {}, process_backend());
  std::vector<std::uint8_t> bytes(1000, 3);
  auto sum = CancellableIsolate::run(span_sum, std::span<const std::uint8_t>(bytes), {}, process_backend());
  text.reset();  // the caller's bytes are gone before the worker has answered
  bytes.assign(bytes.size(), 0);
  EXPECT_TRUE(reversed.get() == expected);
  EXPECT_EQ(sum.get(), 3000u);
  EXPECT_EQ(CancellableIsolate::run(view_reverse, std::string_view(), {}, process_backend()).get(), "");
}

TEST_F(ProcessIsolate, ViewOutputsComeBackAsTheirOwnedBuffers) {
  std::future<std::string> tail = CancellableIsolate::run(view_tail, "xyz", {}, process_backend());
  EXPECT_EQ(tail.get(), "yz");
  EXPECT_EQ(CancellableIsolate::run(view_static, "in", {}, process_backend()).get(), "static bytes");
  EXPECT_EQ(CancellableIsolate::run(owned_head, std::string("headless"), {}, process_backend()).get(), "hea");
}

TEST_F(ProcessIsolate, AHandedOverBufferReceivesTheOutput) {
  std::vector<std::uint8_t> big(6u << 20);
  std::mt19937 random(9);
  for (auto& b : big) b = static_cast<std::uint8_t>(random());
  const auto expected = big;
  const auto* allocation = big.data();
  const auto echoed = CancellableIsolate::run(echo_span, std::move(big), {}, process_backend()).get();
  EXPECT_EQ(echoed.data(), allocation) << "the output was decoded into the handed-over buffer";
  EXPECT_TRUE(echoed == expected);
}

TEST_F(ProcessIsolate, CancellingAJobWithAHandedOverBufferKillsAndReapsItsWorker) {
  const auto before = child_pids();
  TimeoutCancellationToken timeout(50ms);
  auto f = CancellableIsolate::run(spin_view, std::string(1u << 20, 's'), timeout, process_backend());
  EXPECT_THROW(f.get(), TimeoutException);
  // The job's processes are gone when the future is ready; the relay, which runs nothing of the
  // job, is reaped by the supervisor a moment later.
  EXPECT_EQ(live_below_new_children(before), std::vector<pid_t>{}) << "the worker outlived its future";
  EXPECT_TRUE(eventually([&] { return child_pids() == before; }, 10s)) << "the worker's relay was never reaped";
}

TEST_F(ProcessIsolate, CancelledBeforeRunStartsNoProcess) {
  CancellationToken token;
  token.cancel("too late");
  const auto before = child_pids();
  auto f = CancellableIsolate::run(spin, std::string(), token, process_backend());
  EXPECT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(child_pids(), before);
  try {
    f.get();
    FAIL() << "expected CancelledException";
  } catch (const CancelledException& e) {
    EXPECT_EQ(e.reason(), "too late");
  }
}

TEST_F(ProcessIsolate, CancelKillsTheRunningWorkerAndReapsItBeforeTheFutureIsReady) {
  TempDir dir;
  CancellationToken token;
  auto f = CancellableIsolate::run(spin, (dir / "pid").string(), token, process_backend());
  const pid_t worker = wait_for_pid_file(dir / "pid");
  EXPECT_FALSE(pid_gone(worker));
  token.cancel();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready) << "cancel must complete the future at once";
  EXPECT_TRUE(pid_gone(worker)) << "the worker must be reaped (not even a zombie) once the future is ready";
  EXPECT_THROW(f.get(), CancelledException);
  EXPECT_FALSE(token.has_callbacks());
}

// The worker tells the parent once it serves (an eventfd), and the supervisor then finds its
// process tree: the cancel kills it with no /proc reads on its path. Seen from here as pidfds of the
// worker and its namespace's init that this process holds while the job runs, and the eventfd gone.
TEST_F(ProcessIsolate, ARunningWorkersTreeIsFoundBeforeAnyCancelAndItsFdsAreClosedAfter) {
  const auto at_start = open_fds(::getpid());
  (void)CancellableIsolate::run(echo, std::string("warm"), {}, process_backend()).get();  // the services exist
  // The warm run's pidfds are closed a moment after its future is ready (with the run's last
  // reference, on the executor thread). A snapshot taken before then would hide this run's
  // pidfds: they take the freed numbers and read the same ("anon_inode:[pidfd]").
  ASSERT_TRUE(eventually([&] { return pidfd_pids_opened_since(at_start).empty(); }, 10s))
      << "the warm run's pidfds outlived it";
  const auto before = open_fds(::getpid());
  TempDir dir;
  CancellationToken token;
  auto f = CancellableIsolate::run(spin, (dir / "pid").string(), token, process_backend());
  const pid_t worker = wait_for_pid_file(dir / "pid");
  const pid_t init = parent_of(worker);
  if (init == ::getpid()) {
    token.cancel();
    GTEST_SKIP() << "the worker serves without a PID namespace here (no root, no user namespaces)";
  }
  EXPECT_TRUE(eventually(
      [&] {
        const auto pids = pidfd_pids_opened_since(before);
        return pids.count(worker) == 1 && pids.count(init) == 1;
      },
      10s))
      << "the worker's tree was not found while it ran";
  auto eventfds = [&] {
    std::size_t count = 0;
    for (const auto& [fd, target] : fds_opened_since(before)) count += target.find("eventfd") != std::string::npos;
    return count;
  };
  EXPECT_EQ(eventfds(), 0u) << "the tree-ready eventfd outlived its use";
  token.cancel();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(pid_gone(worker));
  EXPECT_THROW(f.get(), CancelledException);
  EXPECT_TRUE(eventually([&] { return fds_opened_since(before).empty(); }, 10s)) << "an fd of the run outlived it";
}

TEST_F(ProcessIsolate, CancelWithACustomExceptionRethrowsExactlyThatException) {
  TempDir dir;
  CancellationToken token;
  auto f = CancellableIsolate::run(spin, (dir / "pid").string(), token, process_backend());
  wait_for_pid_file(dir / "pid");
  auto custom = std::make_exception_ptr(std::domain_error("user gave up"));
  token.cancel(custom);
  try {
    f.get();
    FAIL() << "expected the custom exception";
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "user gave up");
    EXPECT_EQ(std::current_exception(), custom);
  }
}

TEST_F(ProcessIsolate, CancelRightAfterRunNeverLeavesAWorker) {
  // Cancels land before, during and after the spawn; every run must end with its worker reaped.
  for (int i = 0; i < 30; ++i) {
    CancellationToken token;
    auto f = CancellableIsolate::run(spin, std::string(), token, process_backend());
    if (i % 3 == 1) std::this_thread::sleep_for(std::chrono::microseconds(300 * i));
    token.cancel();
    EXPECT_THROW(f.get(), CancelledException);
    EXPECT_FALSE(token.has_callbacks());
  }
}

TEST_F(ProcessIsolate, TemporaryTimeoutTokenStillFiresAndKillsTheWorker) {
  TempDir dir;
  const auto before = child_pids();
  // The token is a temporary: only the run's registration keeps its timer.
  auto f = CancellableIsolate::run(spin, (dir / "pid").string(), TimeoutCancellationToken(300ms), process_backend());
  try {
    f.get();
    FAIL() << "expected TimeoutException";
  } catch (const TimeoutException& e) {
    EXPECT_EQ(e.timeout(), 300ms);
  }
  // A slow start (a sanitizer build) may time out before the job writes its pid: then there is
  // no job process to look for.
  if (std::filesystem::exists(dir / "pid")) {
    EXPECT_TRUE(pid_gone(static_cast<pid_t>(std::stol(read_file(dir / "pid"))))) << "the worker outlived its timeout";
  }
  EXPECT_EQ(live_below_new_children(before), std::vector<pid_t>{}) << "the worker outlived its timeout";
  EXPECT_TRUE(eventually([&] { return child_pids() == before; }, 10s)) << "the worker's relay was never reaped";
}

TEST_F(ProcessIsolate, MergedTokenCancelsTheRunWhenAnyInputIs) {
  CancellationToken user;
  TimeoutCancellationToken deadline(1h);
  auto merged = user.merge({deadline});
  auto f = CancellableIsolate::run(spin, std::string(), merged, process_backend());
  user.cancel("user");
  try {
    f.get();
    FAIL() << "expected CancelledException";
  } catch (const CancelledException& e) {
    EXPECT_EQ(e.reason(), "user");
  }
  EXPECT_FALSE(user.has_callbacks());
  EXPECT_FALSE(deadline.has_callbacks());
}

TEST_F(ProcessIsolate, SegfaultingWorkerGivesWorkerCrashedWithTheSignal) {
  try {
    CancellableIsolate::run(crash, std::string(), {}, process_backend()).get();
    FAIL() << "expected WorkerCrashed";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGSEGV);
    EXPECT_FALSE(e.exit_code().has_value());
  }
}

TEST_F(ProcessIsolate, AbortingWorkerGivesWorkerCrashedWithSigabrt) {
  try {
    CancellableIsolate::run(abort_job, std::string(), {}, process_backend()).get();
    FAIL() << "expected WorkerCrashed";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGABRT);
  }
}

TEST_F(ProcessIsolate, WorkerExitingWithoutAResultGivesWorkerCrashedWithTheExitCode) {
  try {
    CancellableIsolate::run(exit_with, 3, {}, process_backend()).get();
    FAIL() << "expected WorkerCrashed";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.exit_code(), 3);
    EXPECT_FALSE(e.signal().has_value());
  }
}

template <class E>
void expect_rethrown_as(const std::string& type, const std::string& message) {
  try {
    CancellableIsolate::run(throw_named, type, {}, process_backend()).get();
    FAIL() << "expected " << type;
  } catch (const E& e) {
    EXPECT_EQ(typeid(e), typeid(E));
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST_F(ProcessIsolate, StandardExceptionsComeBackAsTheirOwnType) {
  expect_rethrown_as<std::invalid_argument>("invalid_argument", "bad argument");
  expect_rethrown_as<std::out_of_range>("out_of_range", "index 7 out of range");
  expect_rethrown_as<std::runtime_error>("runtime_error", "runtime trouble");
  expect_rethrown_as<std::overflow_error>("overflow_error", "too big");
  EXPECT_THROW(CancellableIsolate::run(throw_named, std::string("bad_alloc"), {}, process_backend()).get(),
               std::bad_alloc);
}

TEST_F(ProcessIsolate, RegisteredExceptionTypeComesBackAsItself) {
  expect_rethrown_as<QuotaExceeded>("quota", "quota of 5 exceeded");
}

TEST_F(ProcessIsolate, UnregisteredExceptionTypesComeBackAsJobError) {
  for (auto [input, type_name, message] :
       {std::tuple{"unregistered", "isolate::test::Unregistered", "nobody knows me"},
        std::tuple{"derived", "isolate::test::DerivedInvalidArgument", "derived from invalid_argument"},
        std::tuple{"int", "int", ""}}) {
    try {
      CancellableIsolate::run(throw_named, std::string(input), {}, process_backend()).get();
      FAIL() << "expected JobError for " << input;
    } catch (const JobError& e) {
      EXPECT_EQ(e.type_name(), type_name);
      EXPECT_EQ(e.message(), message);
    }
  }
}

TEST_F(ProcessIsolate, JobUnknownToTheWorkerExecutableIsAnIsolateErrorNamingIt) {
#ifndef ISOLATE_GENERIC_WORKER
  GTEST_SKIP() << "built without the tools (ISOLATE_TOOLS=OFF): no isolate-worker";
#else
  RunOptions options{.backend = Backend::process, .worker_executable = ISOLATE_GENERIC_WORKER};
  try {
    CancellableIsolate::run(echo, std::string("x"), {}, options).get();
    FAIL() << "expected IsolateError";
  } catch (const IsolateError& e) {
    EXPECT_NE(std::string(e.what()).find("'test.echo' is not defined"), std::string::npos) << e.what();
  }
#endif
}

TEST_F(ProcessIsolate, MissingWorkerExecutableIsAnIsolateErrorNamingIt) {
  RunOptions options{.backend = Backend::process, .worker_executable = "/nonexistent/isolate-worker"};
  try {
    CancellableIsolate::run(echo, std::string("x"), {}, options).get();
    FAIL() << "expected IsolateError";
  } catch (const IsolateError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/isolate-worker"), std::string::npos) << e.what();
  }
}

TEST_F(ProcessIsolate, ProgramThatExitsWithoutAttachingIsAnIsolateErrorThatSaysWhatToFix) {
  RunOptions options{.backend = Backend::process, .worker_executable = "/bin/true"};
  try {
    CancellableIsolate::run(echo, std::string("x"), {}, options).get();
    FAIL() << "expected IsolateError";
  } catch (const WorkerCrashed&) {
    FAIL() << "a program that never attached is not a crashed worker";
  } catch (const IsolateError& e) {
    EXPECT_NE(std::string(e.what()).find("run_worker_if_requested"), std::string::npos) << e.what();
  }
}

TEST_F(ProcessIsolate, ProgramThatNeverAttachesIsKilledAfterTheStartTimeout) {
  // /bin/sh runs this binary in its "hang" role: a main() without run_worker_if_requested.
  TempDir dir;
  const auto script = dir / "hang.sh";
  std::ofstream(script) << "#!/bin/sh\nexec /proc/" << ::getpid() << "/exe --test-program=hang\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  RunOptions options{.backend = Backend::process, .worker_executable = script, .start_timeout = 500ms};
  auto f = CancellableIsolate::run(echo, std::string("x"), {}, options);
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready) << "a worker that never attaches must not hang the run";
  try {
    f.get();
    FAIL() << "expected IsolateError";
  } catch (const IsolateError& e) {
    EXPECT_NE(std::string(e.what()).find("did not attach"), std::string::npos) << e.what();
  }
}

TEST_F(ProcessIsolate, WorkerInheritsNoFdOfTheParentBeyondItsSegment) {
  const int leaky = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 0);
  const auto report = CancellableIsolate::run(process_report, std::string(), {}, process_backend()).get();
  ::close(leaky);
  EXPECT_EQ(report.at("fds"), nlohmann::json({0, 1, 2, 3})) << report.dump();
}

/// Makes this process's stdin a pipe holding `text` for the scope, then restores it.
class PipedStdin {
 public:
  explicit PipedStdin(const std::string& text) : saved_(::dup(0)) {
    int ends[2];
    EXPECT_EQ(::pipe(ends), 0);
    EXPECT_EQ(::write(ends[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(ends[1]);
    ::dup2(ends[0], 0);
    ::close(ends[0]);
  }
  ~PipedStdin() {
    ::dup2(saved_, 0);
    ::close(saved_);
  }
  PipedStdin(const PipedStdin&) = delete;
  PipedStdin& operator=(const PipedStdin&) = delete;
  /// What is left in the pipe.
  static std::string rest() {
    std::string left;
    char buffer[256];
    for (ssize_t n; (n = ::read(0, buffer, sizeof buffer)) > 0;) left.append(buffer, static_cast<std::size_t>(n));
    return left;
  }

 private:
  int saved_;
};

// A job that reads stdin reads /dev/null (EOF at once), on one-shot runs and pools: it never
// consumes, or waits for, the host's own input.
TEST_F(ProcessIsolate, AJobReadingStdinGetsEndOfFileAndNeverTheHostsInput) {
  PipedStdin input("the host's own input\n");
  EXPECT_EQ(CancellableIsolate::run(read_stdin, std::string(), {}, process_backend()).get(), "");
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  EXPECT_EQ(pool.run(read_stdin, std::string()).get(), "");
  EXPECT_EQ(PipedStdin::rest(), "the host's own input\n");
}

// stdout and stderr are the host's by default (a job's prints and crash messages show there), or
// /dev/null with WorkerOutput::discard; stdin is /dev/null either way.
TEST_F(ProcessIsolate, WorkerOutputIsInheritedOrDiscardedAsAsked) {
  std::error_code ec;
  const auto host_stdout = std::filesystem::read_symlink("/proc/self/fd/1", ec).string();
  const auto host_stderr = std::filesystem::read_symlink("/proc/self/fd/2", ec).string();
  const auto inherited = CancellableIsolate::run(process_report, std::string(), {}, process_backend()).get();
  EXPECT_EQ(inherited.at("stdio"), nlohmann::json({"/dev/null", host_stdout, host_stderr})) << inherited.dump();
  RunOptions discard{.backend = Backend::process, .worker_output = WorkerOutput::discard};
  const auto discarded = CancellableIsolate::run(process_report, std::string(), {}, discard).get();
  EXPECT_EQ(discarded.at("stdio"), nlohmann::json({"/dev/null", "/dev/null", "/dev/null"})) << discarded.dump();
  IsolatePool pool({.workers = 1, .backend = Backend::process, .worker_output = WorkerOutput::discard});
  EXPECT_EQ(pool.run(process_report, std::string()).get().at("stdio"),
            nlohmann::json({"/dev/null", "/dev/null", "/dev/null"}));
}

TEST_F(ProcessIsolate, WorkerStartsWithAnEmptySignalMaskAndDefaultDispositions) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  auto old_handler = std::signal(SIGUSR2, SIG_IGN);
  const auto report = CancellableIsolate::run(process_report, std::string(), {}, process_backend()).get();
  std::signal(SIGUSR2, old_handler);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(report.at("sig_blocked"), "0000000000000000");
  // Signals 32 and 33 are glibc's internal SIGCANCEL/SIGSETXID: its posix_spawn sets them to
  // SIG_IGN in every child and no program can change them; every signal a program can use must
  // be at its default.
  const auto ignored = std::stoull(report.at("sig_ignored").get<std::string>(), nullptr, 16);
  const unsigned long long glibc_internal = (1ull << (32 - 1)) | (1ull << (33 - 1));
  EXPECT_EQ(ignored & ~glibc_internal, 0u) << report.at("sig_ignored");
  // Started by this process: directly, or by the relay of its PID namespace (our child).
  // Started by this process: directly, or through its PID namespace's relay and init (the job is
  // then our great-grandchild).
  const auto ancestors = report.at("ancestors").get<std::vector<pid_t>>();
  EXPECT_TRUE(ancestors.at(0) == ::getpid() || ancestors.at(2) == ::getpid()) << report.dump();
}

TEST_F(ProcessIsolate, WorkerDiesWithinOneSecondWhenItsParentIsKilled) {
  // Become a subreaper so the orphaned worker is re-parented to us and we can reap it.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  TempDir dir;
  const auto pid_file = dir / "pid";
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::execl("/proc/self/exe", "test-parent", "--test-program=parent", pid_file.c_str(), nullptr);
    ::_exit(127);
  }
  const pid_t worker = wait_for_pid_file(pid_file);
  ASSERT_EQ(::kill(parent, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  const auto killed = std::chrono::steady_clock::now();
  // The worker's tree (the relay and init of its PID namespace, or the worker itself when it
  // serves without one) is now our children (subreaper): reap them all, which also proves they
  // died. (The init reaps the worker of a namespace.)
  ASSERT_TRUE(eventually(
      [&] {
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        }
        return pid < 0 && errno == ECHILD;
      },
      5s))
      << "the worker or its tree outlived its parent";
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 1s);
  EXPECT_TRUE(pid_gone(worker));
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST_F(ProcessIsolate, CorruptResponseInTheSegmentIsAnIsolateErrorNotACrash) {
  try {
    CancellableIsolate::run(corrupt_response, std::string(), {}, process_backend()).get();
    FAIL() << "expected IsolateError";
  } catch (const IsolateError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the shared segment"), std::string::npos) << e.what();
  }
}

TEST_F(ProcessIsolate, WorkerOutlivesTheThreadThatStartedTheRun) {
  // PR_SET_PDEATHSIG fires when the *spawning thread* exits: runs must not depend on the
  // caller's thread living on.
  std::future<int> f;
  std::thread([&] { f = CancellableIsolate::run(sleep_ms, 300, {}, process_backend()); }).join();
  EXPECT_EQ(f.get(), 300);
}

TEST_F(ProcessIsolate, OneSupervisorServesAllRunsWithoutAThreadPerJob) {
  (void)CancellableIsolate::run(echo, std::string("warm up"), {}, process_backend()).get();
  const auto threads_before = thread_count();
  CancellationToken token;
  std::vector<std::future<std::string>> runs;
  for (int i = 0; i < 16; ++i) runs.push_back(CancellableIsolate::run(spin, std::string(), token, process_backend()));
  // Every run is in flight (spawned or spawning); the library added no thread per run.
  EXPECT_LE(thread_count(), threads_before + 1);
  token.cancel();
  for (auto& f : runs) EXPECT_THROW(f.get(), CancelledException);
}

TEST_F(ProcessIsolate, DuplicateJobNameStopsTheProgramAtStartWithAClearMessage) {
  TempDir dir;
  const auto err = dir / "stderr";
  const std::string command = std::string(ISOLATE_DUPLICATE_JOB_PROGRAM) + " 2>" + err.string();
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "must exit, not crash";
  EXPECT_EQ(WEXITSTATUS(status), 70);
  EXPECT_NE(read_file(err).find("'duplicated-name'"), std::string::npos) << read_file(err);
}

// A worker whose main() forgot run_worker_if_requested runs the whole program again. Its own run
// must fail at once (else every level starts another: a chain of processes); the top level then
// fails with an IsolateError that says what to fix, and no process is left.
TEST_F(ProcessIsolate, ForgottenWorkerDispatchGivesOneClearErrorAndNoChainOfProcesses) {
  for (const bool pool : {false, true}) {
    std::optional<ScopedEnv> pool_mode;
    if (pool) pool_mode.emplace("ISOLATE_TEST_UNDISPATCHED_POOL", "1");
    const auto run = run_program_in_group({ISOLATE_UNDISPATCHED_PROGRAM});
    ASSERT_TRUE(run.finished) << (pool ? "pool: " : "run: ") << "the program did not end: a chain of workers?";
    EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 3) << run.status << "\n" << run.err;
    EXPECT_FALSE(run.group_left_behind) << "a process of the program outlived it";
    // The worker's own run failed at once, naming the fix...
    EXPECT_NE(run.err.find("its main() ran instead of serving the job"), std::string::npos) << run.err;
    // ...and the program's run failed because its worker ended without attaching.
    EXPECT_NE(run.err.find("exit code 3"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("run_worker_if_requested"), std::string::npos) << run.err;
  }
}

// --- the thread backend -----------------------------------------------------------------------

RunOptions thread_backend() { return RunOptions{.backend = Backend::thread}; }

TEST_F(ProcessIsolate, ThreadBackendGivesTheSameOutputAsTheProcessBackend) {
  nlohmann::json doc = {{"a", 1}, {"b", {true, nullptr, "x"}}};
  EXPECT_EQ(CancellableIsolate::run(echo_json, doc, {}, thread_backend()).get(),
            CancellableIsolate::run(echo_json, doc, {}, process_backend()).get());
  EXPECT_EQ(CancellableIsolate::run(mirror_point, Point{3, 4, "q"}, {}, thread_backend()).get(),
            CancellableIsolate::run(mirror_point, Point{3, 4, "q"}, {}, process_backend()).get());
}

TEST(CancellableIsolateThreadBackend, AViewInputHasNoPaddingItIsTheCallersOwnMemory) {
  EXPECT_EQ(CancellableIsolate::run(view_padding, std::string_view("[1]"), {}, thread_backend()).get(), "");
}

TEST(CancellableIsolateThreadBackend, CancelCompletesAtOnceAndRequestsStopThroughTheContext) {
  CancellationToken token;
  auto f = CancellableIsolate::run(sleep_ms, 600'000, token, thread_backend());
  token.cancel("stop");
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(f.get(), CancelledException);
  // The job saw stop_requested(): a second run of a stop-waiting job ends as soon as we cancel.
  CancellationToken second;
  auto g = CancellableIsolate::run(wait_for_stop, std::string(), second, thread_backend());
  second.cancel();
  EXPECT_THROW(g.get(), CancelledException);
}

TEST(CancellableIsolateThreadBackend, TheJobsOwnExceptionObjectPropagatesUnchanged) {
  EXPECT_THROW(CancellableIsolate::run(throw_named, std::string("unregistered"), {}, thread_backend()).get(),
               Unregistered);
  EXPECT_THROW(CancellableIsolate::run(throw_named, std::string("derived"), {}, thread_backend()).get(),
               DerivedInvalidArgument);
}

TEST(CancellableIsolateThreadBackend, ViewInputIsCopiedSoTheCallersBytesNeedOnlyLiveDuringTheCall) {
  auto text = std::make_unique<std::string>("abcdef");
  auto f = CancellableIsolate::run(view_reverse, std::string_view(*text), {}, thread_backend());
  text->assign("xxxxxx");
  text.reset();
  EXPECT_EQ(f.get(), "fedcba");
}

TEST(CancellableIsolateThreadBackend, ViewOutputsAndHandedOverBuffersGiveTheSameResultsAsProcesses) {
  EXPECT_EQ(CancellableIsolate::run(view_tail, std::string("xyz"), {}, thread_backend()).get(), "yz");
  EXPECT_EQ(CancellableIsolate::run(view_static, "in", {}, thread_backend()).get(), "static bytes");
  EXPECT_EQ(CancellableIsolate::run(owned_head, std::string("headless"), {}, thread_backend()).get(), "hea");
  const std::vector<std::uint8_t> bytes{4, 5, 6};
  EXPECT_EQ(CancellableIsolate::run(echo_span, std::span<const std::uint8_t>(bytes), {}, thread_backend()).get(),
            bytes);
}

TEST(CancellableIsolateThreadBackend, CancelledBeforeRunNeverRunsTheJob) {
  CancellationToken token;
  token.cancel();
  auto f = CancellableIsolate::run(spin, std::string(), token, thread_backend());
  EXPECT_THROW(f.get(), CancelledException);
}

// --- Backend::automatic: processes where the platform has them, else threads. These pass on
// both kinds of build.

TEST(CancellableIsolateAutomaticBackend, RoundTripsBytesJsonAndTypes) {
  EXPECT_EQ(CancellableIsolate::run(echo, std::string("abc")).get(), "abc");
  EXPECT_EQ(CancellableIsolate::run(echo_bytes, std::vector<std::uint8_t>{0, 1, 255}).get(),
            (std::vector<std::uint8_t>{0, 1, 255}));
  EXPECT_EQ(CancellableIsolate::run(mirror_point, Point{5, 6, "r"}).get(), (Point{6, 5, "r!"}));
}

TEST(CancellableIsolateAutomaticBackend, CancelCompletesTheFutureWithTheTokensException) {
  CancellationToken token;
  auto f = CancellableIsolate::run(wait_for_stop, std::string(), token);
  token.cancel("enough");
  try {
    f.get();
    FAIL() << "expected CancelledException";
  } catch (const CancelledException& e) {
    EXPECT_EQ(e.reason(), "enough");
  }
  EXPECT_FALSE(token.has_callbacks());
}

TEST(CancellableIsolateAutomaticBackend, RegisteredExceptionsKeepTheirType) {
  EXPECT_THROW(CancellableIsolate::run(throw_named, std::string("quota")).get(), QuotaExceeded);
  EXPECT_THROW(CancellableIsolate::run(throw_named, std::string("invalid_argument")).get(), std::invalid_argument);
}

}  // namespace
}  // namespace isolate::test
