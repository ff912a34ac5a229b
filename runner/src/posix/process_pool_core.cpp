// process_pool_core.cpp — warm worker processes, each with its own shared-memory channel.
//
// The scheduler of a process pool. Its slots and their workers' lives are PoolSlots'
// (pool_slots.hpp); this file is what runs on them. A job goes to an idle slot: its input is
// encoded straight into the slot's channel (protocol/channel.hpp) by the thread that submits it,
// and the worker is woken through its slot's word (protocol/pool_control.hpp; it spins briefly
// after each job, so a busy pool pays no syscall). Jobs beyond the idle slots wait in a FIFO
// queue. Workers ring the pool's doorbell after each response; the dispatcher thread waits on it
// (spin, then futex), reads responses and completes futures (a large response is read on an
// executor thread, so that it does not hold up the others), and hands queued jobs to the slots
// that free up.
#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/executor.hpp>
#include <isolate/detail/pool_core.hpp>
#include <isolate/detail/timer_service.hpp>
#include <isolate/errors.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <typeinfo>
#include <vector>

#include "per_process.hpp"
#include "pool_slots.hpp"
#include "posix/futex.hpp"
#include "response.hpp"
#include "runner_error.hpp"
#include "supervisor.hpp"
#include "worker_start.hpp"

namespace isolate::detail {
namespace {

/// Responses from this size on are read on an executor thread, not the dispatcher's: ~100 µs of
/// copying at memory speed, against ~10 µs for the hand-off.
constexpr std::uint64_t kLargeResponse = std::uint64_t{1} << 20;

class ProcessPoolCore final : public PoolCore, public PoolSlots {
 public:
  ProcessPoolCore(std::size_t workers, PoolOptions options) : PoolSlots(workers, std::move(options)) {}

  void start() {
    if (auto e = undispatched_worker_error()) {
      mark_broken(e);  // a worker whose main() forgot to serve: no workers of its own
      return;
    }
    try {
      (void)TimerService::instance();  // constructed before the supervisor: outlives it at exit
      (void)Executor::instance();
      (void)Supervisor::instance();
      dispatcher_ = std::thread([this] { dispatch_loop(); });
    } catch (...) {
      std::rethrow_exception(current_exception_as_isolate_error("cannot start a pool"));
    }
    start_workers();
  }

  ~ProcessPoolCore() override { shutdown(); }

  void submit(std::shared_ptr<PoolTask> task) override {
    if (generation_ != fork_generation()) {
      fail_task(task, forked_pool_error());
      return;
    }
    if (failed_spawns_.load(std::memory_order_acquire)) retry_failed_spawns();
    std::unique_lock lock(mutex_);
    for (bool owns_input = false;; owns_input = true) {
      if (task->withdrawn) return;  // its token fired first: the future is already complete
      if (auto error = refusal()) {
        lock.unlock();
        fail_task(task, error);
        return;
      }
      if (auto i = idle_slot()) {
        auto worker = assign(*i, task);
        lock.unlock();
        dispatch(*i, worker, task);  // still inside run() when not queued: a view input is valid
        return;
      }
      if (owns_input) break;
      // It will queue: another thread encodes the input after run() has returned. Copy a view
      // input's bytes (without the lock), then look again: a slot may have freed meanwhile.
      lock.unlock();
      try {
        task->own_input();
      } catch (...) {
        fail_task(task, std::current_exception());
        return;
      }
      lock.lock();
    }
    queue_.push_back(std::move(task));
    // A slot whose spawn failed since the check above would leave the job waiting for ever.
    const auto retried = claim_failed_slots();
    lock.unlock();
    for (const auto i : retried) post_spawn(i);
  }

  void cancel(const std::shared_ptr<PoolTask>& task) noexcept override {
    if (generation_ != fork_generation()) return;  // the parent's pool: nothing here to touch
    std::shared_ptr<PoolWorker> victim;
    {
      std::lock_guard lock(mutex_);
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (*it == task) {
          queue_.erase(it);  // never touched a worker
          return;
        }
      }
      for (auto& slot : slots_) {
        if (slot.task == task && (slot.state == SlotState::busy || slot.state == SlotState::writing)) {
          victim = slot.worker;
          victim->killed_for_cancel = true;  // maybe still starting: not a start failure
          slot.task = nullptr;
          slot.state = SlotState::dead;  // on_exit respawns it
          break;
        }
      }
      // Neither queued nor on a worker: submit() has not placed it yet (the token fired between
      // attach() and submit(), or while a view input was being copied). It must never start.
      if (!victim) task->withdrawn = true;
    }
    // Every process of the job is gone when this returns; the relay is reaped by the watch,
    // whose on_exit replaces the worker.
    if (victim) victim->child->kill_tree_and_wait();
  }

  void shutdown() noexcept override {
    if (generation_ != fork_generation()) {
      // A copy in a child of fork(): the workers are the parent's, the dispatcher thread does
      // not exist here, the mutex may be held by a thread that does not either. Touch nothing
      // and never be destroyed (a joinable std::thread member would terminate the program).
      abandoned_ = std::static_pointer_cast<ProcessPoolCore>(weak_from_this().lock());
      if (abandoned_) left_on_purpose(this);
      if (!abandoned_ && dispatcher_.joinable()) dispatcher_.detach();  // being destroyed already
      return;
    }
    std::vector<std::shared_ptr<PoolTask>> tasks;
    std::vector<std::shared_ptr<PoolWorker>> workers;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      // A spawn in flight sees stopping_ and kills (and reaps) its worker; wait for it.
      if (!Supervisor::on_a_supervisor_thread()) wait_for_spawns(lock);
      tasks.assign(queue_.begin(), queue_.end());
      queue_.clear();
      for (auto& slot : slots_) {
        if (slot.task) tasks.push_back(std::move(slot.task));
        if (slot.worker) workers.push_back(std::move(slot.worker));
        slot.state = SlotState::dead;
      }
    }
    for (auto& task : tasks) fail_task(task, std::make_exception_ptr(CancelledException("pool destroyed")));
    for (auto& worker : workers) {
      TimerService::instance().cancel(worker->start_timer);
      worker->child->kill();
      (void)worker->child->wait();
    }
    control_.ring();
    if (dispatcher_.joinable()) dispatcher_.join();
    // Responses still being read on executor threads complete their futures first.
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [&] { return settles_in_flight_ == 0; });
  }

  [[nodiscard]] std::size_t size() const noexcept override { return slots_.size(); }

 private:
 private:
  // ---- dispatching ---------------------------------------------------------------------------

  static std::exception_ptr forked_pool_error() {
    return std::make_exception_ptr(
        IsolateError("isolate: this IsolatePool was made before this process was forked: its workers and threads "
                     "belong to the parent process. Make a pool in the child (one-shot runs work there)"));
  }

  /// Why a new job fails at once (mutex held): the pool is shutting down or broken; else null.
  std::exception_ptr refusal() const {
    if (stopping_) return std::make_exception_ptr(CancelledException("pool destroyed"));
    return broken_;
  }

  /// An idle slot (mutex held).
  std::optional<std::size_t> idle_slot() const noexcept {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == SlotState::idle) return i;
    }
    return std::nullopt;
  }

  /// Gives slot i to `task` (mutex held); returns its worker. dispatch() must follow.
  std::shared_ptr<PoolWorker> assign(std::size_t i, const std::shared_ptr<PoolTask>& task) {
    slots_[i].task = task;
    slots_[i].state = SlotState::writing;
    return slots_[i].worker;
  }

  std::shared_ptr<PoolTask> take_queued(std::size_t i) override {
    if (queue_.empty()) return nullptr;
    auto next = std::move(queue_.front());
    queue_.pop_front();
    assign(i, next);
    return next;
  }

  /// Writes `task`'s request into the worker's channel and wakes it (mutex not held).
  void dispatch(std::size_t i, const std::shared_ptr<PoolWorker>& worker,
                const std::shared_ptr<PoolTask>& task) override {
    try {
      worker->channel.write_request(task->job, task->tag, task->encode);
      // The input is in the channel now: free it (every copy of the holder goes).
      task->encode = nullptr;
      task->own_input = nullptr;
      task->run_here = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (slots_[i].worker != worker || slots_[i].state != SlotState::writing) return;  // cancelled meanwhile
        // Under the lock: once it is released, a cancel may kill this worker and its replacement
        // re-initialise the slot's control words (found by the fault suite under TSan).
        if (task->progress) {
          control_.progress(i).reset();  // the last job's reports are not this one's
          task->progress->watch(&control_.progress(i));
        }
        slots_[i].state = SlotState::busy;
        control_.send(i, ++worker->sent);
      }
      control_.ring();  // a sleeping dispatcher starts watching this job
    } catch (...) {
      // Nothing reached the worker: the slot is free again.
      const auto error = std::current_exception();
      release_slot(i, worker);
      fail_task(task, error);
    }
  }

  /// Slot i's job is over (mutex not held): give it the next queued job, or mark it idle.
  void release_slot(std::size_t i, const std::shared_ptr<PoolWorker>& worker) {
    if (auto next = free_slot(i, worker)) dispatch(i, worker, next);
  }

  /// Marks slot i idle, or gives it the next queued job, which it returns: dispatch() must follow
  /// (mutex not held).
  /// A worker that has answered max_jobs_per_worker jobs, or asked to be replaced (its CPU limit
  /// has no room for another job), is not freed but replaced: killed now, its successor (started
  /// when the supervisor sees it exit) takes the queued jobs.
  std::shared_ptr<PoolTask> free_slot(std::size_t i, const std::shared_ptr<PoolWorker>& worker) {
    {
      std::lock_guard lock(mutex_);
      if (slots_[i].worker != worker || slots_[i].state == SlotState::dead) return nullptr;
      slots_[i].task = nullptr;
      const auto limit = options_.max_jobs_per_worker;
      if ((limit == 0 || worker->answered_jobs < limit) && !worker->replacement_asked()) {
        slots_[i].state = SlotState::idle;
        return take_queued(i);
      }
      slots_[i].state = SlotState::dead;
    }
    worker->child->kill();
    return nullptr;
  }

  /// Waits on the doorbell and completes answered jobs. It spins (ISOLATE_SPIN_US) only while a
  /// job is in flight, and sleeps on the futex otherwise: on a small machine a spinning
  /// dispatcher would take the CPU the woken caller needs.
  void dispatch_loop() {
    const auto spin = spin_duration();
    std::uint32_t seen = control_.bell();
    for (;;) {
      bool in_flight = false;
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        for (const auto& slot : slots_) in_flight = in_flight || slot.state == SlotState::busy;
      }
      collect();
      seen = control_.wait_bell(seen, in_flight ? spin : std::chrono::nanoseconds(0), std::chrono::milliseconds(100));
    }
  }

  /// A job whose worker has answered; its slot is `settling`.
  struct Answered {
    std::size_t slot;
    std::shared_ptr<PoolWorker> worker;
    std::shared_ptr<PoolTask> task;
  };

  /// Completes every answered job and moves its slot on; then finds the process tree of each
  /// worker that became ready, so that a cancel kills it with no /proc reads on its path.
  void collect() {
    std::vector<Answered> answered;
    std::vector<std::shared_ptr<ChildProcess>> became_ready;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        auto& slot = slots_[i];
        if (slot.worker && !slot.worker->tree_looked_up && slot.worker->ready()) {
          slot.worker->tree_looked_up = true;
          became_ready.push_back(slot.worker->child);
        }
        if (slot.state == SlotState::busy && slot.worker->answered()) {
          slot.state = SlotState::settling;  // keeps the channel ours until the response is read
          ++slot.worker->answered_jobs;
          answered.push_back({i, slot.worker, std::move(slot.task)});
        }
      }
    }
    for (auto& a : answered) {
      TimerService::instance().cancel(a.worker->start_timer);  // it answered: it is ready
      if (a.worker->channel.claimed_payload_size() >= kLargeResponse && settle_elsewhere(a)) continue;
      finish(a);
    }
    for (const auto& child : became_ready) child->find_tree();
  }

  /// Reading a large response takes milliseconds (256 MiB: tens): it is read on an executor
  /// thread, so that the dispatcher goes on completing the other workers' jobs meanwhile. False
  /// if no executor thread can be had (the caller reads it).
  bool settle_elsewhere(Answered a) {
    {
      std::lock_guard lock(mutex_);
      ++settles_in_flight_;
    }
    try {
      Executor::instance().submit([this, a]() mutable {
        finish(a);
        a = {};  // the mapping and the task go now, not whenever the executor drops this
        settled();
      });
      return true;
    } catch (...) {
      settled();
      return false;
    }
  }

  void settled() {
    std::lock_guard lock(mutex_);
    --settles_in_flight_;
    settled_.notify_all();
  }

  /// Completes an answered job; its slot takes the next job, or, if the response could not be
  /// read (the job may have corrupted its channel), gets a new worker.
  ///
  /// The slot is freed as soon as the response is decoded, before the future is ready: a caller
  /// that runs its next job as soon as the last one completes finds the same worker idle, with
  /// its heap warm, instead of the other one (a next job waiting in the queue is written only
  /// once the future is ready).
  void finish(const Answered& a) noexcept {
    struct Freeing {
      const Answered& answered;
      bool freed = false;
      std::shared_ptr<PoolTask> next;
    } freeing{a, false, nullptr};
    // Two pointers captured: std::function keeps them inline (no allocation per job).
    const ProcessLaunch::Decoded decoded = [this, &freeing] {
      freeing.freed = true;
      freeing.next = free_slot(freeing.answered.slot, freeing.answered.worker);
    };
    const bool read = settle(*a.worker, a.task, decoded);
    if (freeing.freed) {
      if (freeing.next) dispatch(a.slot, a.worker, freeing.next);
    } else if (read) {
      release_slot(a.slot, a.worker);
    } else {
      retire(a.slot, a.worker);
    }
  }

  /// Completes the job from its response (`decoded` as complete_from_response says). False if
  /// the response could not be read.
  bool settle(PoolWorker& worker, const std::shared_ptr<PoolTask>& task,
              const ProcessLaunch::Decoded& decoded) noexcept {
    if (!task->completion.claim()) return true;  // its token won; the worker finished anyway
    try {
      if (worker.channel.state() != ChannelState::responded) {
        throw IsolateError("isolate: a pool worker answered without a response");
      }
      complete_from_response(worker.channel, task->completion, decoded, options_.limits);
      return true;
    } catch (...) {
      task->completion.fail(current_exception_as_isolate_error("cannot read a pool worker's response"));
      return false;
    }
  }

  std::deque<std::shared_ptr<PoolTask>> take_all_queued() override {
    std::deque<std::shared_ptr<PoolTask>> all;
    all.swap(queue_);
    return all;
  }

  std::shared_ptr<ProcessPoolCore> abandoned_;   // set in a child of fork(): keeps this copy alive
  std::deque<std::shared_ptr<PoolTask>> queue_;  // guarded by mutex_
  std::size_t settles_in_flight_ = 0;            // large responses being read on executor threads
  std::condition_variable settled_;
  std::thread dispatcher_;
};

}  // namespace

std::shared_ptr<PoolCore> make_process_pool_core(std::size_t workers, const PoolOptions& options) {
  PoolOptions resolved = options;
  resolve_readable_paths(resolved.sandbox);
  auto core = std::make_shared<ProcessPoolCore>(workers, resolved);
  core->start();
  return core;
}

}  // namespace isolate::detail
