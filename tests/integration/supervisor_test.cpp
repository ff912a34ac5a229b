// Tests of isolate::detail::Supervisor: posted work runs on its one thread, watched children are
// reaped and reported there (pidfd and polling paths), shutdown kills and reaps, and the host's
// SIGCHLD handler is never touched.
#include "posix/supervisor.hpp"
#include "exit_status.hpp"
#include "process_helpers.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using isolate::detail::ChildProcess;
using isolate::detail::ExitStatus;
using isolate::detail::Supervisor;
using isolate::test::eventually;
using isolate::test::pid_gone;
using isolate::test::proc_status_field;
using isolate::test::thread_count;

using namespace std::chrono_literals;

using isolate::test::exited;
using isolate::test::killed;

std::shared_ptr<ChildProcess> spawn_shared(const std::string& script, bool use_pidfd = true) {
  return std::make_shared<ChildProcess>(ChildProcess::spawn("/bin/sh", {"-c", script}, {}, use_pidfd));
}

std::shared_ptr<ChildProcess> sleeper(bool use_pidfd = true) {
  return std::make_shared<ChildProcess>(ChildProcess::spawn("/bin/sleep", {"100"}, {}, use_pidfd));
}

/// Watches `child` and returns a future of (status, ran on the supervisor thread).
std::future<std::pair<ExitStatus, bool>> watch(Supervisor& supervisor, std::shared_ptr<ChildProcess> child) {
  auto promise = std::make_shared<std::promise<std::pair<ExitStatus, bool>>>();
  auto future = promise->get_future();
  const bool accepted = supervisor.watch(std::move(child), [&supervisor, promise](ExitStatus s) {
    promise->set_value({s, supervisor.running_in_this_thread()});
  });
  EXPECT_TRUE(accepted);
  return future;
}

TEST(Supervisor, PostRunsOnTheSupervisorThreadInOrder) {
  auto& supervisor = Supervisor::instance();
  EXPECT_EQ(&supervisor, &Supervisor::instance());
  EXPECT_FALSE(supervisor.running_in_this_thread());

  std::mutex mutex;
  std::vector<int> order;
  std::promise<std::thread::id> done;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(supervisor.post([&, i] {
      const std::lock_guard lock(mutex);
      order.push_back(i);
    }));
  }
  ASSERT_TRUE(supervisor.post([&] { done.set_value(std::this_thread::get_id()); }));
  const auto id = done.get_future().get();
  EXPECT_NE(id, std::this_thread::get_id());
  const std::lock_guard lock(mutex);
  ASSERT_EQ(order.size(), 100U);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  }
}

TEST(Supervisor, WatchReportsTheExitCodeOnTheSupervisorThread) {
  auto child = spawn_shared("exit 7");
  const pid_t pid = child->pid();
  auto result = watch(Supervisor::instance(), std::move(child)).get();
  EXPECT_EQ(result.first, exited(7));
  EXPECT_TRUE(result.second);
  EXPECT_TRUE(pid_gone(pid));
}

TEST(Supervisor, WatchReportsAKill) {
  auto child = sleeper();
  auto future = watch(Supervisor::instance(), child);
  EXPECT_EQ(future.wait_for(50ms), std::future_status::timeout) << "still sleeping";
  EXPECT_TRUE(child->kill());
  EXPECT_EQ(future.get().first, killed(SIGKILL));
  EXPECT_TRUE(pid_gone(child->pid()));
}

TEST(Supervisor, WatchReportsASignal) {
  auto future = watch(Supervisor::instance(), spawn_shared("ulimit -c 0; kill -SEGV $$"));
  EXPECT_EQ(future.get().first, killed(SIGSEGV));
}

TEST(Supervisor, ChildReapedElsewhereFirstReportsTheCachedStatus) {
  auto child = spawn_shared("exit 5");
  EXPECT_EQ(child->wait(), exited(5));
  EXPECT_EQ(watch(Supervisor::instance(), child).get().first, exited(5));
}

TEST(Supervisor, ConcurrentWaitAndWatchAgreeOnTheStatus) {
  for (int i = 0; i < 20; ++i) {
    auto child = sleeper();
    auto future = watch(Supervisor::instance(), child);
    std::thread killer([&] { child->kill(); });
    const ExitStatus waited = child->wait();
    killer.join();
    EXPECT_EQ(waited, killed(SIGKILL));
    EXPECT_EQ(future.get().first, waited);
  }
}

TEST(Supervisor, WatchWithoutPidfdFallsBackToPolling) {
  auto child = sleeper(/*use_pidfd=*/false);
  ASSERT_EQ(child->pidfd(), -1);
  auto future = watch(Supervisor::instance(), child);
  EXPECT_EQ(future.wait_for(30ms), std::future_status::timeout);
  child->kill();
  EXPECT_EQ(future.get().first, killed(SIGKILL));
  EXPECT_EQ(watch(Supervisor::instance(), spawn_shared("exit 9", false)).get().first, exited(9));
}

TEST(Supervisor, WatchOfNullOrEmptyChildIsRefused) {
  auto& supervisor = Supervisor::instance();
  EXPECT_FALSE(supervisor.watch(nullptr, [](ExitStatus) {}));
  EXPECT_FALSE(supervisor.watch(std::make_shared<ChildProcess>(), [](ExitStatus) {}));
}

TEST(Supervisor, ManyChildrenSpawnedFromTheSupervisorUseNoExtraThread) {
  auto& supervisor = Supervisor::instance();
  ASSERT_TRUE(supervisor.post([] {}));
  const std::size_t threads_before = thread_count();

  constexpr int kChildren = 64;
  std::vector<std::shared_ptr<ChildProcess>> children(kChildren);
  std::vector<std::future<std::pair<ExitStatus, bool>>> exits;
  std::promise<void> spawned;
  ASSERT_TRUE(supervisor.post([&] {
    for (auto& child : children) {
      child = sleeper();
      exits.push_back(watch(supervisor, child));
    }
    spawned.set_value();
  }));
  spawned.get_future().get();

  EXPECT_EQ(thread_count(), threads_before) << "no thread per child";
  for (std::size_t i = 0; i < children.size(); i += 2) {
    children[i]->kill();
  }
  for (std::size_t i = 0; i < children.size(); i += 2) {
    EXPECT_EQ(exits[i].get().first, killed(SIGKILL));
  }
  EXPECT_EQ(exits[1].wait_for(0ms), std::future_status::timeout) << "unkilled ones still run";
  for (std::size_t i = 1; i < children.size(); i += 2) {
    children[i]->kill();
  }
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (i % 2 == 1) {
      const auto result = exits[i].get();
      EXPECT_EQ(result.first, killed(SIGKILL));
      EXPECT_TRUE(result.second);
    }
    EXPECT_TRUE(pid_gone(children[i]->pid()));
  }
  EXPECT_EQ(thread_count(), threads_before);
}

TEST(Supervisor, ChildrenSpawnedFromTheSupervisorStartWithAnEmptySignalMask) {
  auto& supervisor = Supervisor::instance();
  std::promise<std::pair<std::string, std::shared_ptr<ChildProcess>>> spawned;
  ASSERT_TRUE(supervisor.post([&] {
    const auto own = proc_status_field("/proc/thread-self/status", "SigBlk");
    spawned.set_value({own, sleeper()});
  }));
  auto [supervisor_mask, child] = spawned.get_future().get();
  EXPECT_NE(supervisor_mask, "0000000000000000") << "the supervisor thread blocks signals";
  EXPECT_EQ(proc_status_field("/proc/" + std::to_string(child->pid()) + "/status", "SigBlk"), "0000000000000000");
}

extern "C" void test_sigchld_handler(int /*signal*/) {}

TEST(Supervisor, HostSigchldHandlerIsNeverReplaced) {
  struct sigaction mine {};
  mine.sa_handler = test_sigchld_handler;
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGCHLD, &mine, &old), 0);

  auto& supervisor = Supervisor::instance();
  auto child = sleeper();
  auto future = watch(supervisor, child);
  child->kill();
  EXPECT_EQ(future.get().first, killed(SIGKILL));
  Supervisor local;
  EXPECT_EQ(watch(local, spawn_shared("exit 1")).get().first, exited(1));

  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGCHLD, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, &test_sigchld_handler);
  ::sigaction(SIGCHLD, &old, nullptr);
}

TEST(Supervisor, DestructorKillsAndReapsWatchedChildrenAndReportsThem) {
  std::vector<pid_t> pids;
  std::vector<std::future<std::pair<ExitStatus, bool>>> exits;
  {
    Supervisor local;
    for (int i = 0; i < 5; ++i) {
      auto child = sleeper(/*use_pidfd=*/i % 2 == 0);
      pids.push_back(child->pid());
      exits.push_back(watch(local, std::move(child)));  // the supervisor holds the only reference
    }
  }
  for (auto& exit : exits) {
    ASSERT_EQ(exit.wait_for(0ms), std::future_status::ready) << "reported before ~Supervisor ends";
    const auto result = exit.get();
    EXPECT_EQ(result.first, killed(SIGKILL));
    EXPECT_TRUE(result.second);
  }
  for (const pid_t pid : pids) {
    EXPECT_TRUE(pid_gone(pid));
  }
}

TEST(Supervisor, ShutdownRunsQueuedWorkRefusesNewWorkAndKillsLateWatches) {
  std::atomic<bool> refused{false};
  std::promise<ExitStatus> late_exit;
  auto late_status = late_exit.get_future();
  pid_t late_pid = -1;
  std::thread::id supervisor_thread;
  {
    auto local = std::make_unique<Supervisor>();
    Supervisor& s = *local;
    ASSERT_TRUE(s.post([&] {
      supervisor_thread = std::this_thread::get_id();
      // Wait until the destructor has begun: from then on post() is refused.
      while (s.post([] {})) {
        std::this_thread::sleep_for(1ms);
      }
      refused = true;
      auto child = sleeper();
      late_pid = child->pid();
      // Accepted from the supervisor thread during shutdown; the child is killed at once.
      EXPECT_TRUE(s.watch(child, [&](ExitStatus status) { late_exit.set_value(status); }));
    }));
    std::this_thread::sleep_for(20ms);
    local.reset();
  }
  EXPECT_TRUE(refused.load());
  ASSERT_EQ(late_status.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(late_status.get(), killed(SIGKILL));
  EXPECT_TRUE(pid_gone(late_pid));
  EXPECT_NE(supervisor_thread, std::this_thread::get_id());
}

TEST(SupervisorDeathTest, ExitFromTheSupervisorThreadKillsChildrenWithoutHanging) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The "threadsafe" style re-executes this binary for the statement: the file is named after
  // the test process, which is the statement's parent.
  auto pid_file = [](pid_t test_process) {
    return std::filesystem::temp_directory_path() / ("isolate-supervisor-death-" + std::to_string(test_process));
  };
  EXPECT_EXIT(
      {
        auto& supervisor = Supervisor::instance();
        auto child = sleeper();
        std::ofstream(pid_file(::getppid())) << child->pid();
        if (!supervisor.watch(child, [](ExitStatus) {}) || !supervisor.post([] { std::exit(3); })) {
          std::_Exit(1);
        }
        child.reset();
        std::this_thread::sleep_for(std::chrono::seconds(30));
        std::_Exit(2);
      },
      ::testing::ExitedWithCode(3), "");
  const std::string pid = isolate::test::read_file(pid_file(::getpid()));
  std::filesystem::remove(pid_file(::getpid()));
  ASSERT_FALSE(pid.empty());
  EXPECT_TRUE(pid_gone(std::stoi(pid))) << "killed and reaped before the process exited";
}

TEST(Supervisor, WatchesFromManyThreadsAtOnce) {
  auto& supervisor = Supervisor::instance();
  constexpr int kThreads = 6;
  constexpr int kPerThread = 10;
  std::atomic<int> reported{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto child = (i % 2 == 0) ? spawn_shared("exit 0", t % 2 == 0) : sleeper(t % 2 == 0);
        auto future = watch(supervisor, child);
        if (i % 3 == 0) {
          child->kill();
        }
        if (i % 2 == 1 && i % 3 != 0) {
          std::thread([child] { child->kill(); }).join();
        }
        const auto status = future.get().first;
        if (status == exited(0) || status == killed(SIGKILL)) {
          reported.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(reported.load(), kThreads * kPerThread);
}

}  // namespace
