// Fault suite: hosts that make a library's life hard. Each host runs in a program of its own
// (this binary in a --test-program role, in its own process group), because what it does to
// signals, fds and children is process-wide. Each must give a clear outcome, never a hang.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "process_helpers.hpp"

namespace isolate::test {
namespace {

class HostileHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
};

/// The lines run_every_outcome() prints for one-shot runs and pools, whatever the host does.
void expect_every_outcome_exact(const ProgramRun& run) {
  ASSERT_TRUE(run.finished) << run.out << run.err;
  EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0) << run.out << run.err;
  for (const std::string how : {"run", "pool"}) {
    for (const std::string line :
         {" echo: value\n", " crash: worker_crashed signal 11\n", " exit 7: worker_crashed exit 7\n",
          " cancel: cancelled: stop\n", " echo after: value\n"}) {
      EXPECT_NE(run.out.find(how + line), std::string::npos) << "missing: " << how << line << run.out << run.err;
    }
  }
  EXPECT_FALSE(run.group_left_behind);
}

// SIGCHLD set to SIG_IGN: the kernel reaps workers itself, and waitid() no longer tells how they
// ended. The pidfd still does (Linux >= 6.15): a crash is still WorkerCrashed with its signal.
TEST_F(HostileHost, IgnoredSigchldStillGivesEveryOutcomeExactly) {
  expect_every_outcome_exact(
      run_program_in_group({"/proc/self/exe", "--test-program=hostile-host", "sigchld-ignored"}));
}

// A thread of the host reaps every child (waitpid(-1)), racing the library for its workers.
TEST_F(HostileHost, AHostThreadReapingEveryChildStillGivesEveryOutcomeExactly) {
  expect_every_outcome_exact(run_program_in_group({"/proc/self/exe", "--test-program=hostile-host", "waitpid-thread"}));
}

// SIGPIPE ignored by the host: workers start with default dispositions, and nothing changes.
TEST_F(HostileHost, IgnoredSigpipeChangesNothing) {
  expect_every_outcome_exact(
      run_program_in_group({"/proc/self/exe", "--test-program=hostile-host", "sigpipe-ignored"}));
}

// Where the kernel keeps no exit status for us (no pidfd: kernels < 5.3, or < 6.15 for pidfd
// exit info), a worker reaped by the host ends its job with an IsolateError saying so, never a
// WorkerCrashed that names neither a signal nor an exit code.
TEST_F(HostileHost, AStatusTheHostTookIsAnIsolateErrorWhereTheKernelKeepsNone) {
  ScopedEnv no_pidfd("ISOLATE_DISABLE_PIDFD", "1");
  const auto run = run_program_in_group({"/proc/self/exe", "--test-program=hostile-host", "sigchld-ignored"});
  ASSERT_TRUE(run.finished) << run.out << run.err;
  EXPECT_EQ(run.out.find("without a cause"), std::string::npos) << run.out;
  for (const std::string how : {"run", "pool"}) {
    for (const std::string line : {" echo: value\n", " cancel: cancelled: stop\n", " echo after: value\n",
                                   " crash: isolate_error: isolate: the worker ended without a response, and how it "
                                   "ended is unknown"}) {
      EXPECT_NE(run.out.find(how + line), std::string::npos) << "missing: " << how << line << run.out << run.err;
    }
  }
  EXPECT_FALSE(run.group_left_behind);
}

// A host with almost no fd left at the library's first use: every run gives a value or an
// IsolateError in its future (never an exception from run(), never a hang), and once fds are
// free again the next run works, on the same pool too. (A pool's constructor may throw
// IsolateError instead.)
TEST_F(HostileHost, ExhaustedFdsGiveAnIsolateErrorInTheFutureAndTheLibraryRecovers) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr checks need fds of their own (a pipe to probe memory) and report every virtual
  // call of an fd-starved process as invalid. The normal and TSan builds run this test.
  GTEST_SKIP() << "the sanitizer runtime itself needs fds";
#endif
  for (const std::string mode : {"run", "pool"}) {
    for (int free_fds = 0; free_fds <= 6; ++free_fds) {
      const auto run =
          run_program_in_group({"/proc/self/exe", "--test-program=fd-exhaust", std::to_string(free_fds), mode});
      SCOPED_TRACE(mode + " with " + std::to_string(free_fds) + " fds free:\n" + run.out + run.err);
      ASSERT_TRUE(run.finished);
      EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
      const bool scarce_ok = run.out.find("scarce: run() returned; value") != std::string::npos ||
                             run.out.find("scarce: run() returned; isolate_error: ") != std::string::npos ||
                             (mode == "pool" && run.out.find("scarce: threw isolate_error: ") != std::string::npos);
      EXPECT_TRUE(scarce_ok);
      EXPECT_NE(run.out.find(": run() returned; value", run.out.find("freed")), std::string::npos);
      EXPECT_FALSE(run.group_left_behind);
    }
  }
}

// A host that fork()s after using the library. In the child: a new run and a new pool work, the
// parent's pool fails at once with an IsolateError, a timeout fires, cancelling the parent's run
// completes its future there without touching the parent's worker, and exit() (static
// destructors) does not hang. In the parent, its pool and its run in flight are untouched.
TEST_F(HostileHost, ForkAfterUseGivesTheChildWorkingRunsAndLeavesTheParentsWorkersAlone) {
#if defined(__SANITIZE_ADDRESS__)
  // In the child, whatever the parent's other threads held on their stacks at the fork looks
  // leaked to LeakSanitizer (it scans only live threads); the child leaves the parent's state
  // alone on purpose. Leak checking stays on for every other test.
  const char* asan = std::getenv("ASAN_OPTIONS");
  ScopedEnv no_leak_check("ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") + ":detect_leaks=0");
#endif
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer does not support new threads in a child of a multi-threaded fork() (it stops
  // the child, or with die_after_fork=0 trips over its own thread registry): exactly what this
  // host does. The normal and ASan builds run this test.
  GTEST_SKIP() << "ThreadSanitizer cannot run threads after a multi-threaded fork()";
#endif
  const auto run = run_program_in_group({"/proc/self/exe", "--test-program=fork-after-use"});
  ASSERT_TRUE(run.finished) << run.out << run.err;
  EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0) << run.out << run.err;
  for (const char* line :
       {"parent before fork: run() returned; value\n", "parent pool before fork: value\n",
        "child run: run() returned; value\n", "child new pool: run() returned; value\n",
        "child timeout: cancelled: timed out after",
        "child cancel of the parent's run: cancelled: cancelled in the child\n", "child ended: exit 0\n",
        "parent pool after fork: value\n", "parent run in flight after fork: still running\n",
        "parent cancel: cancelled: cancelled in the parent\n"}) {
    EXPECT_NE(run.out.find(line), std::string::npos) << "missing: " << line << "\n" << run.out << run.err;
  }
  EXPECT_NE(run.out.find("child on the parent's pool: isolate_error: isolate: this IsolatePool was made before this "
                         "process was forked"),
            std::string::npos)
      << run.out;
  EXPECT_FALSE(run.group_left_behind);
}

}  // namespace
}  // namespace isolate::test
