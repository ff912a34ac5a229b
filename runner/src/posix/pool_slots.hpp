// pool_slots.hpp — the worker slot lifecycle of a process pool (internal).
//
// A pool has a fixed number of slots; each holds a worker process and its channel, or is getting
// a new one. PoolSlots starts workers on the supervisor thread, kills one that does not become
// ready in time, tells its own kills (for a cancel) from workers that failed to start, replaces
// workers that died or whose channel cannot be trusted, retries slots whose spawn failed, and
// gives up on a program whose workers never start (the pool is broken). What runs on the slots —
// the queue, dispatching and completing jobs — is the scheduler's (process_pool_core.cpp), which
// PoolSlots calls through the three hooks below.
#pragma once

#include <isolate/detail/pool_core.hpp>
#include <isolate/detail/timer_service.hpp>
#include <isolate/run_options.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "child_process.hpp"
#include "per_process.hpp"
#include "protocol/channel.hpp"
#include "protocol/pool_control.hpp"

namespace isolate::detail {

/// One worker process and its channel.
struct PoolWorker {
  PoolControl* control = nullptr;  // the pool's: this worker's words are slot `slot` of it
  std::size_t slot = 0;
  std::shared_ptr<ChildProcess> child;
  Channel channel;
  std::uint32_t sent = 0;          // sequence number of the last request (dispatching thread)
  std::size_t answered_jobs = 0;   // guarded by the pool mutex
  bool start_timed_out = false;    // guarded by the pool mutex
  bool killed_for_cancel = false;  // guarded by the pool mutex: its exit says nothing of its start
  bool tree_looked_up = false;     // guarded by the pool mutex: child->find_tree() once it was ready
  TimerService::Handle start_timer;

  [[nodiscard]] bool ready() const noexcept { return control->ready(slot); }
  [[nodiscard]] bool answered() const noexcept { return control->answered(slot, sent); }
  [[nodiscard]] bool replacement_asked() const noexcept { return control->replacement_asked(slot); }
};

/// A slot's channel is touched by one thread at a time: the dispatching thread while `writing`
/// (it may grow and so remap the channel) and the dispatcher thread while `settling` (it reads the
/// response, may remap). The control words are at fixed addresses.
enum class SlotState { spawning, idle, writing, busy, settling, dead };

struct Slot {
  std::shared_ptr<PoolWorker> worker;
  std::shared_ptr<PoolTask> task;
  SlotState state = SlotState::spawning;
  /// Set while the slot is dead because its worker could not be started (no fd, no memory, no
  /// thread): the next submit() tries again, so the pool recovers once the resource is back.
  std::exception_ptr spawn_error;
};

/// Fails `task` unless its result is claimed already, with its own copy of `error` when that is
/// a plain IsolateError: one pool-wide error (the pool is broken, a spawn failed) is shared by
/// many jobs, and each future should hold an exception object of its own.
void fail_task(const std::shared_ptr<PoolTask>& task, const std::exception_ptr& error);

/// The slots of a process pool, and their workers' lives. Thread safety: every member takes
/// mutex_ itself unless it says "mutex held".
class PoolSlots : public std::enable_shared_from_this<PoolSlots> {
 public:
  PoolSlots(std::size_t slots, PoolOptions options);
  virtual ~PoolSlots() = default;
  PoolSlots(const PoolSlots&) = delete;
  PoolSlots& operator=(const PoolSlots&) = delete;

 protected:
  // ---- the scheduler's hooks ----
  /// Gives idle slot i its next job, if one waits (mutex held); dispatch() follows.
  virtual std::shared_ptr<PoolTask> take_queued(std::size_t i) = 0;
  /// Sends `task` to slot i's worker (mutex not held).
  virtual void dispatch(std::size_t i, const std::shared_ptr<PoolWorker>& worker,
                        const std::shared_ptr<PoolTask>& task) = 0;
  /// Every job still waiting, taken out of the queue (mutex held): no slot can serve them.
  virtual std::deque<std::shared_ptr<PoolTask>> take_all_queued() = 0;

  /// Starts every slot's first worker (after the derived object is complete).
  void start_workers();
  /// Begins a new spawn of every slot whose spawn failed (mutex held); post_spawn each returned.
  std::vector<std::size_t> claim_failed_slots();
  /// Gives every slot whose spawn failed another start, if there is one.
  void retry_failed_spawns();
  /// Spawns slot i's worker on the supervisor thread, after begin_spawn or claim_failed_slots.
  void post_spawn(std::size_t i);
  /// Replaces slot i's worker, whose channel cannot be trusted any more: killed now, reaped and
  /// respawned when the supervisor sees it exit.
  void retire(std::size_t i, const std::shared_ptr<PoolWorker>& worker) noexcept;
  /// The pool gives up: every queued and later job fails with `error`.
  void mark_broken(const std::exception_ptr& error);
  /// Waits until no spawn is in flight (mutex held by `lock`; not on the supervisor thread).
  void wait_for_spawns(std::unique_lock<std::mutex>& lock);

  PoolOptions options_;
  const std::uint64_t generation_ = fork_generation();
  PoolControl control_;  // the doorbell and every slot's control words
  std::mutex mutex_;
  std::vector<Slot> slots_;
  bool stopping_ = false;
  std::exception_ptr broken_;
  std::atomic<int> failed_spawns_{0};  // slots with a spawn_error (changed under mutex_)

 private:
  void begin_spawn(std::size_t i);
  void spawn(std::size_t i);
  void spawn_done();
  void spawn_failed(std::size_t i, const std::exception_ptr& error);
  /// Arms the worker's start timeout and hands the slot the worker; false if the pool stopped.
  [[nodiscard]] bool take_in(std::size_t i, const std::shared_ptr<PoolWorker>& worker);
  void on_start_timeout(std::size_t i, const std::shared_ptr<PoolWorker>& worker);
  void on_exit(std::size_t i, const std::shared_ptr<PoolWorker>& worker, const ExitStatus& status);

  unsigned start_failures_ = 0;  // in a row; guarded by mutex_
  std::size_t spawns_in_flight_ = 0;
  std::condition_variable spawned_;
};

}  // namespace isolate::detail
