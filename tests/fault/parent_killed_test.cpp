// Fault suite: the parent SIGKILLed at random moments while it starts, uses, cancels and replaces
// workers (one-shot runs and a pool). Every worker must be gone within a second of the kill.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "fault_scale.hpp"
#include "process_helpers.hpp"
#include "process_table.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

/// Reaps every child of this process (we are their subreaper) until none is left; the time it
/// took, or nullopt if some were still there after `deadline`.
std::optional<std::chrono::steady_clock::duration> reap_all_children(std::chrono::milliseconds deadline) {
  const auto start = std::chrono::steady_clock::now();
  const bool none_left = eventually(
      [] {
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        }
        return pid < 0 && errno == ECHILD;
      },
      deadline);
  if (!none_left) return std::nullopt;
  return std::chrono::steady_clock::now() - start;
}

TEST(ParentKilled, EveryWorkerIsGoneWithinASecondWhateverMomentTheParentIsKilledAt) {
  if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  // Orphaned workers are re-parented to us, so that we can watch them die and reap them.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const auto shm_before = shm_names();
  const int rounds = 8 * fault_scale();
  std::mt19937 random(42);
  std::chrono::steady_clock::duration slowest{};
  int late = 0;
  for (int round = 0; round < rounds; ++round) {
    const pid_t parent = ::fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {
      ::execl("/proc/self/exe", "busy-parent", "--test-program=busy-parent", nullptr);
      ::_exit(127);
    }
    // From its very start (workers being spawned) to well into its run (workers dying, cancelled
    // and replaced all the time).
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 400));
    ASSERT_EQ(::kill(parent, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(parent, &status, 0), parent);
    const auto gone = reap_all_children(10s);
    ASSERT_TRUE(gone.has_value()) << "round " << round << ": workers outlived their killed parent by 10 s";
    slowest = std::max(slowest, *gone);
    if (*gone >= 1s) ++late;
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_EQ(late, 0) << "rounds where a worker outlived its parent by a second or more";
  EXPECT_EQ(shm_names(), shm_before);
  const auto ms = std::chrono::duration<double, std::milli>(slowest).count();
  std::printf("[ figures  ] parent killed %d times at random moments: every worker gone within %.1f ms (slowest)\n",
              rounds, ms);
  RecordProperty("rounds", rounds);
  RecordProperty("slowest_ms", static_cast<int>(ms));
}

}  // namespace
}  // namespace isolate::test
