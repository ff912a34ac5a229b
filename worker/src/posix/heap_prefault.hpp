// heap_prefault.hpp — a worker thread that faults in the heap's new top ahead of the job
// (internal).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace isolate::detail {

/// While a job runs, a thread of the worker's own faults in (MADV_POPULATE_WRITE) what malloc's
/// heap has just grown by (the program break moved up), so that the job finds those pages present
/// instead of taking each first-touch fault itself. A fresh worker's big job spends most of its
/// time over the parse's own in such faults where memory is slow to come (a VM that hands freed
/// memory back to its host): on a machine with a second core idle, the faults move off the job's
/// path (bench/isolate_bench BM_JsonParse, one-shot; see README).
///
/// Start it after the sandbox is entered: a thread started before would be under neither the
/// seccomp filter nor Landlock, and a job could hijack it. Not for a worker with a CPU limit: the
/// faults it takes ahead of the job (up to a top pad more than the job uses) would count against
/// the job's CPU time. Its thread blocks every signal, never allocates, polls the break every
/// 2 ms while a job runs and sleeps on a futex once none has run for 100 ms. The heap is a
/// program-break heap only with glibc's malloc; under another allocator the thread finds nothing
/// to do. begin_job/end_job: the serving thread only.
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
  std::uintptr_t heap_start_ = 0;  // the break when the thread was started
  pthread_t thread_{};
  bool started_ = false;
};

}  // namespace isolate::detail
