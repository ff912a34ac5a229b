// Integration tests of the worker's heap prefaulter (worker/src/posix/heap_prefault.hpp): while a
// job runs, the heap just past the job's newest page is faulted in by a thread of the worker's
// own, not by the job's first touches — but not what the job never touches — on one-shot runs
// (sandboxed too) and on pool workers, a job after an idle spell included; a worker with a CPU
// limit runs no such thread.
// Real worker processes; the jobs move the break themselves (sbrk), so that the tests hold under
// any allocator (a sanitizer's does not use the break).
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <thread>
#include <vector>

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

constexpr std::intptr_t kBytesPerMiB = std::intptr_t{1} << 20;

/// Pages of [start, start + bytes) that are resident.
std::size_t resident_pages(void* start, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> state((bytes + page - 1) / page);
  if (::mincore(start, bytes, state.data()) != 0) return 0;
  std::size_t resident = 0;
  for (const unsigned char s : state) resident += s & 1u;
  return resident;
}

/// The least of its new heap a job should find faulted in ahead of it (the worker's lead is
/// 32 MiB, in 2 MiB steps).
constexpr std::size_t kEnoughAhead = std::size_t{24} << 20;

/// Moves the program break up by `mib` MiB, touches the first page of the new memory and
/// nothing else, waits until at least kEnoughAhead of it is resident and that has not changed
/// for a second (at most 20 s),
/// and returns how many MiB of it are: what the worker faulted in ahead of the job. Gives the
/// memory back if nothing else moved the break.
Job<int, std::int64_t> grow_break_and_wait("test.prefault.grow-break", [](const int& mib) {
  const std::intptr_t bytes = mib * kBytesPerMiB;
  void* base = ::sbrk(bytes);
  if (base == reinterpret_cast<void*>(-1)) throw std::runtime_error("sbrk failed");
  const auto page_bytes = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // The first whole page: where a job's use of its new heap would begin.
  auto* first = reinterpret_cast<volatile char*>((reinterpret_cast<std::uintptr_t>(base) + page_bytes - 1) &
                                                 ~(static_cast<std::uintptr_t>(page_bytes) - 1));
  *first = 1;
  std::size_t resident = resident_pages(base, static_cast<std::size_t>(bytes));
  auto changed = std::chrono::steady_clock::now();
  for (const auto deadline = changed + 20s; std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(10ms);
    const std::size_t now = resident_pages(base, static_cast<std::size_t>(bytes));
    if (now != resident) {
      resident = now;
      changed = std::chrono::steady_clock::now();
    } else if (resident * page_bytes >= kEnoughAhead && std::chrono::steady_clock::now() - changed > 1s) {
      break;  // a thread starved for a second before this much counts as not done, not as done
    }
  }
  if (::sbrk(0) == static_cast<char*>(base) + bytes) (void)::sbrk(-bytes);
  return static_cast<std::int64_t>(resident * page_bytes / static_cast<std::size_t>(kBytesPerMiB));
});

/// The threads of the worker process.
Job<int, int> prefault_thread_count("test.prefault.threads", [](const int&) {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
});

class HeapPrefault : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "sanitizer builds run no prefaulter (their allocator does not use the break)";
#endif
  }
};

/// The worker faults in 32 MiB past the job's newest page (in 2 MiB steps): at least most of
/// that, and never the whole 128 MiB the job grew its heap by and left untouched.
void expect_faulted_in_ahead_of_the_job(std::int64_t resident_mib) {
  EXPECT_GE(resident_mib, 24) << "MiB of the job's new heap resident after it touched one page";
  EXPECT_LE(resident_mib, 36) << "MiB of the job's new heap resident after it touched one page";
}

TEST_F(HeapPrefault, AOneShotJobsNewHeapIsFaultedInAheadOfItButNotAllOfIt) {
  expect_faulted_in_ahead_of_the_job(
      CancellableIsolate::run(grow_break_and_wait, 128, {}, {.backend = Backend::process}).get());
}

TEST_F(HeapPrefault, ASandboxedOneShotJobsNewHeapIsFaultedInAheadOfItToo) {
  if (!Sandbox::available()) GTEST_SKIP() << "this kernel cannot enforce the sandbox";
  expect_faulted_in_ahead_of_the_job(
      CancellableIsolate::run(grow_break_and_wait, 128, {}, {.backend = Backend::process, .sandbox = {.enabled = true}})
          .get());
}

TEST_F(HeapPrefault, APoolWorkersNewHeapIsFaultedInAheadOfEachJobAlsoAfterAnIdleSpell) {
  IsolatePool pool(PoolOptions{.workers = 1, .backend = Backend::process});
  expect_faulted_in_ahead_of_the_job(pool.run(grow_break_and_wait, 128).get());
  std::this_thread::sleep_for(500ms);  // the prefaulter sleeps once no job has run for 100 ms
  expect_faulted_in_ahead_of_the_job(pool.run(grow_break_and_wait, 128).get());
}

TEST_F(HeapPrefault, AWorkerWithACpuLimitRunsNoPrefaultThread) {
  const RunOptions unlimited{.backend = Backend::process};
  const RunOptions cpu_limited{.backend = Backend::process, .limits = {.cpu_time = 60s}};
  const int without_limit = CancellableIsolate::run(prefault_thread_count, 0, {}, unlimited).get();
  const int with_limit = CancellableIsolate::run(prefault_thread_count, 0, {}, cpu_limited).get();
  EXPECT_EQ(without_limit, with_limit + 1);
}

}  // namespace
}  // namespace isolate::test
