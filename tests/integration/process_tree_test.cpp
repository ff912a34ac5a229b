// Integration tests of the process tree: every process a job starts (a plain child, one in a
// session of its own, a double-forked daemon, an exec'ed program) is gone once the run's future is
// ready: on cancel, on a crash, when a one-shot job returns, when a pool job ends (its worker
// lives on), when a pool is destroyed, and within a second of the parent being SIGKILLed. Real
// worker processes (this binary re-executed) in their own PID namespaces.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

const char* const kKinds[] = {"plain", "session", "daemon", "exec"};

class ProcessTree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }

  [[nodiscard]] nlohmann::json input(const std::string& then) const {
    return {{"dir", dir_.path().string()}, {"then", then}};
  }

  /// The pids the job's processes wrote, by kind; waits (generously) until all four exist.
  std::map<std::string, pid_t> started() {
    std::map<std::string, pid_t> pids;
    for (const char* kind : kKinds) {
      const auto file = dir_ / kind;
      EXPECT_TRUE(eventually([&] { return std::filesystem::exists(file); }, 20s)) << kind << " never started";
      if (std::filesystem::exists(file)) pids[kind] = static_cast<pid_t>(std::stol(read_file(file)));
    }
    return pids;
  }

  /// The job's processes still there (zombies included), by kind.
  static std::map<std::string, pid_t> alive(const std::map<std::string, pid_t>& pids) {
    std::map<std::string, pid_t> left;
    for (const auto& [kind, pid] : pids) {
      if (!pid_gone(pid)) left.emplace(kind, pid);
    }
    return left;
  }

  void wait_for_job_file() {
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir_ / "job"); }, 20s)) << "the job never spun";
  }

  TempDir dir_;
};

TEST_F(ProcessTree, ACancelledJobsProcessesAreGoneWhenItsFutureIsReady) {
  CancellationToken token;
  auto future = CancellableIsolate::run(start_processes, input("spin"), token, {.backend = Backend::process});
  const auto pids = started();
  wait_for_job_file();
  ASSERT_EQ(alive(pids).size(), 4u);
  token.cancel("enough");
  EXPECT_THROW((void)future.get(), CancelledException);
  EXPECT_TRUE(alive(pids).empty()) << ::testing::PrintToString(alive(pids));
}

TEST_F(ProcessTree, AOneShotJobThatReturnsTakesItsProcessesWithIt) {
  auto future = CancellableIsolate::run(start_processes, input("return"), {}, {.backend = Backend::process});
  EXPECT_EQ(future.get(), "started");
  const auto pids = started();
  EXPECT_TRUE(alive(pids).empty()) << ::testing::PrintToString(alive(pids));
}

TEST_F(ProcessTree, AJobThatCrashesTakesItsProcessesWithItAndIsReportedAsItsCrash) {
  auto future = CancellableIsolate::run(start_processes, input("crash"), {}, {.backend = Backend::process});
  try {
    (void)future.get();
    FAIL() << "the job did not crash";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGSEGV) << e.what();
  }
  const auto pids = started();
  EXPECT_TRUE(alive(pids).empty()) << ::testing::PrintToString(alive(pids));
}

TEST_F(ProcessTree, APoolJobsProcessesEndWithItWhileItsWorkerServesOn) {
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  const auto worker = pool.run(process_report, std::string()).get().at("pid").get<pid_t>();
  EXPECT_EQ(pool.run(start_processes, input("return")).get(), "started");
  const auto pids = started();
  EXPECT_TRUE(alive(pids).empty()) << ::testing::PrintToString(alive(pids));
  EXPECT_EQ(pool.run(process_report, std::string()).get().at("pid").get<pid_t>(), worker)
      << "the worker was replaced instead of serving on";
}

TEST_F(ProcessTree, ACancelledPoolJobsProcessesAreGoneWhenItsFutureIsReady) {
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  CancellationToken token;
  auto future = pool.run(start_processes, input("spin"), token);
  const auto pids = started();
  wait_for_job_file();
  token.cancel();
  EXPECT_THROW((void)future.get(), CancelledException);
  EXPECT_TRUE(alive(pids).empty()) << ::testing::PrintToString(alive(pids));
  EXPECT_EQ(pool.run(echo, std::string("after")).get(), "after") << "the pool did not go on";
}

TEST_F(ProcessTree, ADestroyedPoolLeavesNoProcessOfItsJobs) {
  std::map<std::string, pid_t> pids;
  {
    IsolatePool pool({.workers = 1, .backend = Backend::process});
    auto future = pool.run(start_processes, input("spin"));
    pids = started();
    wait_for_job_file();
  }
  EXPECT_TRUE(alive(pids).empty()) << ::testing::PrintToString(alive(pids));
}

class ProcessTreeParentKilled : public ProcessTree, public ::testing::WithParamInterface<std::string> {};

TEST_P(ProcessTreeParentKilled, EveryProcessOfTheJobIsGoneWithinASecond) {
  // Orphans are re-parented to us (subreaper), so that we can reap what dies.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::execl("/proc/self/exe", "process-starter", "--test-program=process-starter", dir_.path().c_str(),
            GetParam().c_str(), nullptr);
    ::_exit(127);
  }
  const auto pids = started();
  wait_for_job_file();
  ASSERT_EQ(::kill(parent, SIGKILL), 0);
  ASSERT_EQ(::waitpid(parent, nullptr, 0), parent);
  const auto killed = std::chrono::steady_clock::now();
  const bool gone = eventually(
      [&] {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        return alive(pids).empty();
      },
      10s);
  const auto took = std::chrono::steady_clock::now() - killed;
  // The rest of the tree (the relay and the init of the worker's namespace) was re-parented to
  // us too: reap it all, so that no zombie of ours outlives the test.
  EXPECT_TRUE(eventually(
      [] {
        pid_t pid;
        while ((pid = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
        }
        return pid < 0 && errno == ECHILD;
      },
      10s));
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(gone) << "still there 10 s after the parent: " << ::testing::PrintToString(alive(pids));
  EXPECT_LT(took, 1s);
}

INSTANTIATE_TEST_SUITE_P(RunAndPool, ProcessTreeParentKilled, ::testing::Values("run", "pool"));

}  // namespace
}  // namespace isolate::test
