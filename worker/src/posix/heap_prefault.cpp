// heap_prefault.cpp — HeapPrefaulter (see heap_prefault.hpp).
#include "heap_prefault.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>

#include "memory_pages.hpp"
#include "posix/futex.hpp"
#include "quiet_thread.hpp"

namespace isolate::detail {
namespace {

constexpr long kPollNanoseconds = 2'000'000;
constexpr int kIdlePollsBeforeSleeping = 50;  // 100 ms
/// How far past the job's newest page of heap it faults in: what a job that stops growing its
/// heap leaves faulted in for nothing (and, without a CPU limit, the CPU spent on it).
constexpr std::uintptr_t kLead = 32u << 20;
/// How far above its own frontier it looks for pages the job has touched (mincore).
constexpr std::uintptr_t kScan = 64u << 20;
constexpr std::uintptr_t kChunk = 2u << 20;      // one huge page: end_job waits for at most one
constexpr std::size_t kStackBytes = 128u << 10;  // the loop needs little; sanitizers a bit more

/// The program break: the end of malloc's main heap (the kernel's value, read without a race).
std::uintptr_t program_break() noexcept {
  const auto page = static_cast<std::uintptr_t>(page_size());
  return (static_cast<std::uintptr_t>(::syscall(SYS_brk, 0)) + page - 1) & ~(page - 1);
}

void pause(long nanoseconds) noexcept {
  const timespec poll{0, nanoseconds};
  ::nanosleep(&poll, nullptr);
}

/// The end of the highest page the job has touched in the kScan bytes above `from` (and below
/// `top`): where the job's heap use has got to, past what this thread faulted in. `from` if it
/// touched none there: the job works below (in what is faulted in already), or far from the
/// top of the heap (in a block it reserved and does not fill from the start).
std::uintptr_t job_frontier(std::uintptr_t from, std::uintptr_t top) noexcept {
  const auto page = static_cast<std::uintptr_t>(page_size());
  std::array<unsigned char, kScan / 4096> resident{};  // on the thread's stack: 16 KiB
  const std::uintptr_t length = std::min({top - from, kScan, resident.size() * page});
  if (length == 0) return from;
  auto* start = reinterpret_cast<void*>(from);  // NOLINT(performance-no-int-to-ptr): a heap address
  if (::mincore(start, length, resident.data()) != 0) return from;
  for (std::size_t i = (length + page - 1) / page; i > 0; --i) {
    if ((resident[i - 1] & 1u) != 0) return from + i * page;
  }
  return from;
}

}  // namespace

HeapPrefaulter::~HeapPrefaulter() {
  if (!started_) return;
  stop_.store(true);
  wake();
  ::pthread_join(thread_, nullptr);
}

bool HeapPrefaulter::start() noexcept {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // A sanitizer's allocator does not use the program break: there is nothing to fault in. (And
  // one fresh-clone CI run under ASan saw a job's forked child never start while the thread
  // existed: not reproduced, cause not found; a job's fork() under a sanitizer's runtime is
  // safer in a process of one thread.)
  return false;
#else
  if (started_) return true;
  heap_start_ = program_break();  // here, not on the thread: a job may move the break before it runs
  started_ = start_quiet_thread(thread_, &HeapPrefaulter::run, this, kStackBytes);
  return started_;
#endif
}

void HeapPrefaulter::begin_job() noexcept {
  job_break_.store(program_break());
  active_.store(1);
  if (sleeping_.load() != 0) futex_wake_all(active_);
}

void HeapPrefaulter::end_job() noexcept { active_.store(0); }

void HeapPrefaulter::wake() noexcept {
  active_.store(1);
  futex_wake_all(active_);
}

void* HeapPrefaulter::run(void* self) noexcept {
  static_cast<HeapPrefaulter*>(self)->loop();
  return nullptr;
}

void HeapPrefaulter::loop() noexcept {
  std::uintptr_t populated = heap_start_;  // what lies below was the worker's before any job
  int idle_polls = 0;
  while (!stop_.load()) {
    if (active_.load() == 0) {
      if (++idle_polls < kIdlePollsBeforeSleeping) {
        pause(kPollNanoseconds);
        continue;
      }
      // begin_job stores active_ and then reads sleeping_; this stores sleeping_ and then (in
      // the kernel, atomically with going to sleep) reads active_: one of them sees the other.
      sleeping_.store(1);
      futex_wait(active_, 0);
      sleeping_.store(0);
      continue;
    }
    idle_polls = 0;
    // A heap that shrank (trimmed while the pool worker idled, or by the last job) and grew
    // again is new memory below what this thread faulted in before: start from the lower end.
    if (const std::uintptr_t at_job_start = job_break_.exchange(0); at_job_start != 0) {
      populated = std::min(populated, at_job_start);
    }
    const std::uintptr_t top = program_break();
    populated = std::min(populated, top);
    const std::uintptr_t frontier = job_frontier(populated, top);
    const std::uintptr_t target = frontier > populated ? std::min(top, frontier + kLead) : populated;
    while (populated < target && active_.load() != 0 && !stop_.load()) {
      const std::uintptr_t end = std::min(target, (populated & ~(kChunk - 1)) + kChunk);
      auto* start = reinterpret_cast<void*>(populated);  // NOLINT(performance-no-int-to-ptr): a heap address
      if (populate_for_write(start, end - populated) == EINVAL) return;  // Linux < 5.14
      populated = end;  // ENOMEM (trimmed meanwhile) or EFAULT/EINTR: nothing to redo
    }
    pause(kPollNanoseconds);
  }
}

}  // namespace isolate::detail
