// heap_prefault.hpp — a worker thread that faults in the heap's new top ahead of the job
// (internal).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace isolate::detail {

/// While a job runs, a thread of the worker's own faults in (MADV_POPULATE_WRITE) the heap just
/// ahead of the job: when the job has touched pages above what the thread faulted in so far
/// (mincore, in the 64 MiB above it), the thread faults in everything up to 32 MiB past the
/// highest of them, below the program break. The job then finds those pages present instead of
/// taking each first-touch fault itself. A fresh worker's big job spends most of its time over
/// the same job in a warm process in such faults where memory is slow to come (a VM that hands
/// freed memory back to its host): on a machine with a second core idle, they move off the job's
/// path (bench/isolate_bench BM_JsonParse, one-shot; see README). What the job reserves and never
/// touches is not faulted in (a parser's worst-case buffers); a job that stops growing leaves at
/// most 32 MiB faulted in for nothing.
///
/// Start it after the sandbox is entered: a thread started before would be under neither the
/// seccomp filter nor Landlock, and a job could hijack it. Not for a worker with a CPU limit: the
/// faults it takes ahead of the job would count against the job's CPU time. Its thread blocks
/// every signal, never allocates, looks every 2 ms while a job runs (a mincore of at most 64 MiB)
/// and sleeps on a futex once no job has run for 100 ms. The heap is a program-break heap
/// only with glibc's malloc; under another allocator the thread finds nothing to do.
/// begin_job/end_job: the serving thread only.
class HeapPrefaulter {
 public:
  HeapPrefaulter() = default;
  /// Stops the thread and joins it (a populate in flight ends first: at most one 2 MiB chunk).
  ~HeapPrefaulter();
  HeapPrefaulter(const HeapPrefaulter&) = delete;
  HeapPrefaulter& operator=(const HeapPrefaulter&) = delete;

  /// Starts the thread, idle. False (nothing runs, jobs fault their heap themselves) if it cannot.
  bool start() noexcept;
  void begin_job() noexcept;
  void end_job() noexcept;

 private:
  static void* run(void* self) noexcept;
  void loop() noexcept;
  void wake() noexcept;

  std::atomic<std::uint32_t> active_{0};  // a futex word: 1 while a job runs (or to stop)
  std::atomic<std::uint32_t> sleeping_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uintptr_t> job_break_{0};  // the break when the last job began, until the thread reads it
  std::uintptr_t heap_start_ = 0;             // the break when the thread was started
  pthread_t thread_{};
  bool started_ = false;
};

}  // namespace isolate::detail
