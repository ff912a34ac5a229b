// per_process.hpp — library state that belongs to one process: re-created after fork()
// (internal).
//
// fork() copies a process with only the calling thread. The library's threads (supervisor,
// timer, executor, pool dispatchers) do not exist in the child, and the children of the parent
// are not the child's. So every piece of state that owns threads or child processes records the
// fork generation it was made in:
// - PerProcess<T> holds a process-wide instance (the supervisor, the timer service, the
//   executor) and makes a new one the first time it is used in a child; the parent's copy is
//   never touched there (its mutexes may be held by threads that do not exist) and never
//   destroyed (its destructor would join threads that do not exist).
// - Objects that belong to the parent (a worker process, a pool, a run in flight) check
//   fork_generation() and do nothing in the child: they never signal the parent's workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace isolate::detail {

/// 0 in the process that first used the library; one more in each child made by fork() since
/// (pthread_atfork). Never blocks, never throws. Thread safety: any thread.
[[nodiscard]] std::uint64_t fork_generation() noexcept;

/// Tells LeakSanitizer (where it runs) that the heap object at `p`, and all it reaches, is left
/// on purpose: a parent's state in a child of fork() is never freed there. No-op otherwise.
void left_on_purpose(const void* p) noexcept;

/// The process-wide T of this process: made at the first get() (in this process), destroyed at
/// exit (static destruction of the PerProcess) if it belongs to this process, else left alone.
/// No lock is held while T is made (T's constructor may itself use another PerProcess): two
/// threads that race to make the first one each make one, and the loser's is destroyed at once.
/// T's constructor may throw: get() then throws it, and the next get() tries again.
template <class T>
class PerProcess {
 public:
  PerProcess() = default;
  ~PerProcess() {
    const Record* record = record_.load(std::memory_order_acquire);
    if (record != nullptr && record->generation == fork_generation()) {
      delete record->instance;
      record_.store(nullptr, std::memory_order_release);  // a (misplaced) later get() makes a new one
      delete record;
    }
  }
  PerProcess(const PerProcess&) = delete;
  PerProcess& operator=(const PerProcess&) = delete;

  T& get() {
    const auto generation = fork_generation();
    const Record* seen = record_.load(std::memory_order_acquire);
    while (seen == nullptr || seen->generation != generation) {
      std::unique_ptr<T> instance(new T());  // T may keep its constructor private to friends
      auto record = std::make_unique<const Record>(Record{instance.get(), generation});
      if (record_.compare_exchange_strong(seen, record.get(), std::memory_order_acq_rel)) {
        // Ours is in. A parent's record and instance (seen) are deliberately leaked in the child.
        if (seen != nullptr) left_on_purpose(seen);
        (void)instance.release();
        return *record.release()->instance;
      }
      // Another thread installed one first (`seen` is now it): ours is destroyed here.
    }
    return *seen->instance;
  }

 private:
  struct Record {
    T* instance;
    std::uint64_t generation;
  };
  std::atomic<const Record*> record_{nullptr};
};

}  // namespace isolate::detail
