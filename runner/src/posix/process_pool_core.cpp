// process_pool_core.cpp — warm worker processes, each with its own shared-memory channel.
//
// Each slot owns a worker process and its Channel (protocol/channel.hpp); the pool's
// PoolControl (protocol/pool_control.hpp) holds every slot's handshake words. A job goes to an
// idle slot: its input is encoded straight into the slot's channel by the thread that dispatches
// it, and the worker is woken through its slot's word (it spins briefly after each job, so a busy
// pool pays no syscall). Workers ring the pool's doorbell after each response; the dispatcher
// thread waits on the doorbell (spin, then futex), reads responses and completes futures (a
// large response is read on an executor thread, so that it does not hold up the others), and
// hands queued jobs to the slots that free up. Worker deaths come from the supervisor (pidfd):
// the slot's job fails (WorkerCrashed) unless its token already claimed it, and the slot is
// respawned in the background. A worker that never becomes ready fails its job with
// IsolateError; three such starts in a row mark the pool broken (every job then fails at once
// with that error) instead of respawning forever.
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

#include "child_process.hpp"
#include "per_process.hpp"
#include "posix/futex.hpp"
#include "protocol/channel.hpp"
#include "protocol/pool_control.hpp"
#include "response.hpp"
#include "runner_error.hpp"
#include "supervisor.hpp"
#include "worker_start.hpp"

namespace isolate::detail {
namespace {

constexpr unsigned kMaxConsecutiveStartFailures = 3;
/// Responses from this size on are read on an executor thread, not the dispatcher's: ~100 µs of
/// copying at memory speed, against ~10 µs for the hand-off.
constexpr std::uint64_t kLargeResponse = std::uint64_t{1} << 20;

/// One worker process and its channel.
struct Worker {
  PoolControl* control = nullptr;  // the pool's: this worker's words are slot `slot` of it
  std::size_t slot = 0;
  std::shared_ptr<ChildProcess> child;
  Channel channel;
  std::uint32_t sent = 0;        // sequence number of the last request (dispatching thread)
  bool start_timed_out = false;  // guarded by the pool mutex
  bool killed_for_cancel = false;  // guarded by the pool mutex: its exit says nothing of its start
  TimerService::Handle start_timer;

  [[nodiscard]] bool ready() const noexcept { return control->ready(slot); }
  [[nodiscard]] bool answered() const noexcept { return control->answered(slot, sent); }
};

// A slot's data segment is touched by one thread at a time: the dispatching thread while
// `writing` (it may grow and so remap the segment) and the dispatcher thread while `settling`
// (it reads the response, may remap). The control words are at fixed addresses.
enum class SlotState { spawning, idle, writing, busy, settling, dead };

struct Slot {
  std::shared_ptr<Worker> worker;
  std::shared_ptr<PoolTask> task;
  SlotState state = SlotState::spawning;
  /// Set while the slot is dead because its worker could not be started (no fd, no memory, no
  /// thread): the next submit() tries again, so the pool recovers once the resource is back.
  std::exception_ptr spawn_error;
};

/// Fails `task` with its own copy of `error` when that is an IsolateError: one pool-wide error
/// (the pool is broken, a spawn failed) is shared by many jobs, and each future should hold an
/// exception object of its own (no reference count shared across the callers' threads).
void fail(const std::shared_ptr<PoolTask>& task, const std::exception_ptr& error) {
  if (!task->completion.claim || !task->completion.claim()) return;
  std::exception_ptr own = error;
  try {
    std::rethrow_exception(error);
  } catch (const IsolateError& e) {
    if (typeid(e) == typeid(IsolateError)) own = std::make_exception_ptr(IsolateError(e.what()));
  } catch (...) {
  }
  task->completion.fail(std::move(own));
}

class ProcessPoolCore final : public PoolCore, public std::enable_shared_from_this<ProcessPoolCore> {
 public:
  ProcessPoolCore(std::size_t workers, PoolOptions options)
      : options_(std::move(options)), control_(PoolControl::create(workers)), slots_(workers) {
    options_.worker_executable = worker_executable(options_.worker_executable);
  }

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
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      {
        std::lock_guard lock(mutex_);
        begin_spawn(i);
      }
      post_spawn(i);
    }
  }

  ~ProcessPoolCore() override { shutdown(); }

  void submit(std::shared_ptr<PoolTask> task) override {
    if (generation_ != fork_generation()) {
      fail(task, forked_pool_error());
      return;
    }
    if (failed_spawns_.load(std::memory_order_acquire)) retry_failed_spawns();
    std::unique_lock lock(mutex_);
    for (bool owns_input = false;; owns_input = true) {
      if (task->withdrawn) return;  // its token fired first: the future is already complete
      if (auto error = refusal()) {
        lock.unlock();
        fail(task, error);
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
        fail(task, std::current_exception());
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
    std::shared_ptr<Worker> victim;
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
    if (victim) {
      victim->child->kill();
      (void)victim->child->wait();
    }
  }

  void shutdown() noexcept override {
    if (generation_ != fork_generation()) {
      // A copy in a child of fork(): the workers are the parent's, the dispatcher thread does
      // not exist here, the mutex may be held by a thread that does not either. Touch nothing
      // and never be destroyed (a joinable std::thread member would terminate the program).
      abandoned_ = weak_from_this().lock();
      if (abandoned_) left_on_purpose(this);
      if (!abandoned_ && dispatcher_.joinable()) dispatcher_.detach();  // being destroyed already
      return;
    }
    std::vector<std::shared_ptr<PoolTask>> tasks;
    std::vector<std::shared_ptr<Worker>> workers;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      // A spawn in flight sees stopping_ and kills (and reaps) its worker; wait for it.
      if (!Supervisor::on_a_supervisor_thread()) {
        spawned_.wait(lock, [&] { return spawns_in_flight_ == 0; });
      }
      tasks.assign(queue_.begin(), queue_.end());
      queue_.clear();
      for (auto& slot : slots_) {
        if (slot.task) tasks.push_back(std::move(slot.task));
        if (slot.worker) workers.push_back(std::move(slot.worker));
        slot.state = SlotState::dead;
      }
    }
    for (auto& task : tasks) fail(task, std::make_exception_ptr(CancelledException("pool destroyed")));
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
  // ---- spawning (supervisor thread) ----------------------------------------------------------

  /// Marks slot i as getting a new worker (mutex held); post_spawn(i) must follow.
  void begin_spawn(std::size_t i) {
    ++spawns_in_flight_;
    if (slots_[i].spawn_error) {
      slots_[i].spawn_error = nullptr;
      failed_spawns_.fetch_sub(1, std::memory_order_release);
    }
    slots_[i].state = SlotState::spawning;
  }

  /// Spawns slot i's worker on the supervisor thread (after begin_spawn). shutdown() waits for
  /// spawns in flight, so no worker can appear after the pool is gone.
  void post_spawn(std::size_t i) {
    std::weak_ptr<ProcessPoolCore> weak = weak_from_this();
    std::exception_ptr error;
    try {
      if (Supervisor::instance().post([weak, i] {
            if (auto self = weak.lock()) {
              self->spawn(i);
              self->spawn_done();
            }
          })) {
        return;
      }
      error = std::make_exception_ptr(IsolateError("isolate: the program is shutting down"));
    } catch (...) {
      error = current_exception_as_isolate_error("cannot start the supervisor thread");
    }
    spawn_done();
    spawn_failed(i, error);
  }

  /// Slot i's worker could not be started: the slot is dead until the next submit() retries it.
  /// If no slot can serve the queue any more, the queued jobs fail with `error` (never a hang).
  void spawn_failed(std::size_t i, const std::exception_ptr& error) {
    std::deque<std::shared_ptr<PoolTask>> stranded;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      slots_[i].worker = nullptr;
      slots_[i].state = SlotState::dead;
      if (!slots_[i].spawn_error) failed_spawns_.fetch_add(1, std::memory_order_release);
      slots_[i].spawn_error = error;
      const bool any_can_serve = std::any_of(slots_.begin(), slots_.end(), [](const Slot& slot) { return !slot.spawn_error; });
      if (!any_can_serve) stranded.swap(queue_);
    }
    for (auto& task : stranded) fail(task, error);
  }

  /// Gives every slot whose spawn failed another start (the resource may be back).
  void retry_failed_spawns() {
    std::vector<std::size_t> retried;
    {
      std::lock_guard lock(mutex_);
      retried = claim_failed_slots();
    }
    for (const auto i : retried) post_spawn(i);
  }

  /// Begins a new spawn of every slot whose spawn failed (mutex held); post_spawn each returned.
  std::vector<std::size_t> claim_failed_slots() {
    std::vector<std::size_t> claimed;
    if (stopping_ || broken_ || failed_spawns_.load(std::memory_order_relaxed) == 0) return claimed;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].spawn_error) {
        begin_spawn(i);
        claimed.push_back(i);
      }
    }
    return claimed;
  }

  void spawn_done() {
    std::lock_guard lock(mutex_);
    --spawns_in_flight_;
    spawned_.notify_all();
  }

  void spawn(std::size_t i) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || broken_) return;
    }
    auto worker = std::make_shared<Worker>();
    // The previous worker of this slot is dead and reaped: its control words start over.
    control_.reset(i);
    worker->control = &control_;
    worker->slot = i;
    try {
      worker->channel = Channel::create(64 * 1024);
      worker->child = std::make_shared<ChildProcess>(
          spawn_worker(options_.worker_executable, worker->channel.fd(),
                       PoolSeat{.control_fd = control_.fd(), .slot = static_cast<unsigned>(i)}, options_.worker_output));
    } catch (...) {
      spawn_failed(i, current_exception_as_isolate_error("cannot start a pool worker"));
      return;
    }
    worker->channel.allow_attach();  // we hold its pidfd: the worker may start
    std::weak_ptr<ProcessPoolCore> weak = weak_from_this();
    try {
      worker->start_timer = TimerService::instance().schedule(
          TimerService::Clock::now() + options_.start_timeout, [weak, i, w = std::weak_ptr<Worker>(worker)] {
            auto self = weak.lock();
            auto target = w.lock();
            if (self && target) self->on_start_timeout(i, target);
          });
    } catch (...) {
      worker->child->kill();  // never a worker without its start timeout
      (void)worker->child->wait();
      spawn_failed(i, current_exception_as_isolate_error("cannot start a pool worker's start timer"));
      return;
    }
    std::shared_ptr<PoolTask> next;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        worker->child->kill();
        (void)worker->child->wait();
        return;
      }
      slots_[i].worker = worker;
      slots_[i].state = SlotState::idle;
      next = take_queued(i);
    }
    (void)Supervisor::instance().watch(worker->child, [weak, i, w = std::weak_ptr<Worker>(worker)](ExitStatus status) {
      auto self = weak.lock();
      auto target = w.lock();
      if (self && target) self->on_exit(i, target, status);
    });
    if (next) dispatch(i, worker, next);
  }

  void on_start_timeout(std::size_t i, const std::shared_ptr<Worker>& worker) {
    std::lock_guard lock(mutex_);
    if (slots_[i].worker != worker || worker->ready()) return;
    worker->start_timed_out = true;
    worker->child->kill();
  }

  void on_exit(std::size_t i, const std::shared_ptr<Worker>& worker, const ExitStatus& status) {
    TimerService::instance().cancel(worker->start_timer);
    std::shared_ptr<PoolTask> task;
    bool respawn = false;
    std::exception_ptr start_failure;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || slots_[i].worker != worker) return;
      task = std::move(slots_[i].task);
      slots_[i].worker = nullptr;
      slots_[i].state = SlotState::dead;
      if (worker->killed_for_cancel) {
        // Our own kill, maybe of a worker still starting: it tells nothing of how starts go.
      } else if (!worker->ready()) {
        start_failure = start_failure_error(options_.worker_executable, status, worker->start_timed_out,
                                            options_.start_timeout);
        ++start_failures_;
      } else {
        start_failures_ = 0;
      }
      respawn = start_failures_ < kMaxConsecutiveStartFailures;
    }
    if (!respawn) mark_broken(start_failure);
    if (task) {
      if (start_failure) {
        fail(task, start_failure);
      } else {
        fail(task, worker_ended_error(status));
      }
    }
    if (respawn) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        begin_spawn(i);
      }
      post_spawn(i);
    }
  }

  void mark_broken(std::exception_ptr error) {
    std::deque<std::shared_ptr<PoolTask>> queued;
    {
      std::lock_guard lock(mutex_);
      if (!broken_) broken_ = error;
      queued.swap(queue_);
    }
    for (auto& task : queued) fail(task, error);
  }

  // ---- dispatching ---------------------------------------------------------------------------

  static std::exception_ptr forked_pool_error() {
    return std::make_exception_ptr(IsolateError(
        "isolate: this IsolatePool was made before this process was forked: its workers and threads "
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
  std::shared_ptr<Worker> assign(std::size_t i, const std::shared_ptr<PoolTask>& task) {
    slots_[i].task = task;
    slots_[i].state = SlotState::writing;
    return slots_[i].worker;
  }

  /// Gives idle slot i the oldest queued job, if any (mutex held); returns it (dispatch() must
  /// follow) or null.
  std::shared_ptr<PoolTask> take_queued(std::size_t i) {
    if (queue_.empty()) return nullptr;
    auto next = std::move(queue_.front());
    queue_.pop_front();
    assign(i, next);
    return next;
  }

  /// Writes `task`'s request into the worker's channel and wakes it (mutex not held).
  void dispatch(std::size_t i, const std::shared_ptr<Worker>& worker, const std::shared_ptr<PoolTask>& task) {
    try {
      worker->channel.write_request(task->job, task->tag, task->encode);
      // The input is in the channel now: free it (every copy of the holder goes).
      task->encode = nullptr;
      task->own_input = nullptr;
      task->run_here = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (slots_[i].worker != worker || slots_[i].state != SlotState::writing) return;  // cancelled meanwhile
        slots_[i].state = SlotState::busy;
        // Under the lock: once it is released, a cancel may kill this worker and its replacement
        // re-initialise the slot's control words (found by the fault suite under TSan).
        control_.send(i, ++worker->sent);
      }
      control_.ring();  // a sleeping dispatcher starts watching this job
    } catch (...) {
      // Nothing reached the worker: the slot is free again.
      const auto error = std::current_exception();
      release_slot(i, worker);
      fail(task, error);
    }
  }

  /// Slot i's job is over (mutex not held): give it the next queued job, or mark it idle.
  void release_slot(std::size_t i, const std::shared_ptr<Worker>& worker) {
    std::shared_ptr<PoolTask> next;
    {
      std::lock_guard lock(mutex_);
      if (slots_[i].worker != worker || slots_[i].state == SlotState::dead) return;
      slots_[i].task = nullptr;
      slots_[i].state = SlotState::idle;
      next = take_queued(i);
    }
    if (next) dispatch(i, worker, next);
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
    std::shared_ptr<Worker> worker;
    std::shared_ptr<PoolTask> task;
  };

  /// Completes every answered job and moves its slot on.
  void collect() {
    std::vector<Answered> answered;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        auto& slot = slots_[i];
        if (slot.state == SlotState::busy && slot.worker->answered()) {
          slot.state = SlotState::settling;  // keeps the channel ours until the response is read
          answered.push_back({i, slot.worker, std::move(slot.task)});
        }
      }
    }
    for (auto& a : answered) {
      TimerService::instance().cancel(a.worker->start_timer);  // it answered: it is ready
      if (a.worker->channel.claimed_payload_size() >= kLargeResponse && settle_elsewhere(a)) continue;
      finish(a);
    }
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
  void finish(const Answered& a) noexcept {
    if (settle(*a.worker, a.task)) {
      release_slot(a.slot, a.worker);
    } else {
      retire(a.slot, a.worker);
    }
  }

  /// Completes the job from its response. False if the response could not be read.
  bool settle(Worker& worker, const std::shared_ptr<PoolTask>& task) noexcept {
    if (!task->completion.claim()) return true;  // its token won; the worker finished anyway
    try {
      if (worker.channel.state() != ChannelState::responded) {
        throw IsolateError("isolate: a pool worker answered without a response");
      }
      complete_from_response(worker.channel, task->completion);
      return true;
    } catch (...) {
      task->completion.fail(current_exception_as_isolate_error("cannot read a pool worker's response"));
      return false;
    }
  }

  /// Replaces slot i's worker, whose channel cannot be trusted any more: killed now, reaped and
  /// respawned by on_exit.
  void retire(std::size_t i, const std::shared_ptr<Worker>& worker) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (slots_[i].worker != worker || slots_[i].state == SlotState::dead) return;
      slots_[i].task = nullptr;
      slots_[i].state = SlotState::dead;
    }
    worker->child->kill();
  }

  PoolOptions options_;
  const std::uint64_t generation_ = fork_generation();
  std::shared_ptr<ProcessPoolCore> abandoned_;  // set in a child of fork(): keeps this copy alive
  PoolControl control_;  // the doorbell and every slot's control words
  std::mutex mutex_;
  std::vector<Slot> slots_;
  std::deque<std::shared_ptr<PoolTask>> queue_;
  bool stopping_ = false;
  std::exception_ptr broken_;
  unsigned start_failures_ = 0;
  std::atomic<int> failed_spawns_{0};  // slots with a spawn_error (changed under mutex_)
  std::size_t spawns_in_flight_ = 0;
  std::condition_variable spawned_;
  std::size_t settles_in_flight_ = 0;  // large responses being read on executor threads
  std::condition_variable settled_;
  std::thread dispatcher_;
};

}  // namespace

std::shared_ptr<PoolCore> make_process_pool_core(std::size_t workers, const PoolOptions& options) {
  auto core = std::make_shared<ProcessPoolCore>(workers, options);
  core->start();
  return core;
}

}  // namespace isolate::detail
