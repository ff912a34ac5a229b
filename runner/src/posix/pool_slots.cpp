// pool_slots.cpp — PoolSlots: starting, watching and replacing a pool's workers.
#include "pool_slots.hpp"

#include <isolate/errors.hpp>

#include <algorithm>
#include <typeinfo>
#include <utility>

#include "runner_error.hpp"
#include "supervisor.hpp"
#include "worker_start.hpp"

namespace isolate::detail {
namespace {

constexpr unsigned kMaxConsecutiveStartFailures = 3;
constexpr std::size_t kChannelSize = std::size_t{64} << 10;  // a new worker's; it grows for large payloads

}  // namespace

void fail_task(const std::shared_ptr<PoolTask>& task, const std::exception_ptr& error) {
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

PoolSlots::PoolSlots(std::size_t slots, PoolOptions options)
    : options_(std::move(options)), control_(PoolControl::create(slots)), slots_(slots) {
  options_.worker_executable = worker_executable(options_.worker_executable);
}

void PoolSlots::start_workers() {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    {
      std::lock_guard lock(mutex_);
      begin_spawn(i);
    }
    post_spawn(i);
  }
}

/// Marks slot i as getting a new worker (mutex held); post_spawn(i) must follow.
void PoolSlots::begin_spawn(std::size_t i) {
  ++spawns_in_flight_;
  if (slots_[i].spawn_error) {
    slots_[i].spawn_error = nullptr;
    failed_spawns_.fetch_sub(1, std::memory_order_release);
  }
  slots_[i].state = SlotState::spawning;
}

void PoolSlots::post_spawn(std::size_t i) {
  // shutdown() waits for spawns in flight, so no worker can appear after the pool is gone.
  std::weak_ptr<PoolSlots> weak = weak_from_this();
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

void PoolSlots::spawn_done() {
  std::lock_guard lock(mutex_);
  --spawns_in_flight_;
  spawned_.notify_all();
}

void PoolSlots::wait_for_spawns(std::unique_lock<std::mutex>& lock) {
  spawned_.wait(lock, [&] { return spawns_in_flight_ == 0; });
}

/// Slot i's worker could not be started: the slot is dead until the next submit() retries it.
/// If no slot can serve the queue any more, the queued jobs fail with `error` (never a hang).
void PoolSlots::spawn_failed(std::size_t i, const std::exception_ptr& error) {
  std::deque<std::shared_ptr<PoolTask>> stranded;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    slots_[i].worker = nullptr;
    slots_[i].state = SlotState::dead;
    if (!slots_[i].spawn_error) failed_spawns_.fetch_add(1, std::memory_order_release);
    slots_[i].spawn_error = error;
    const bool any_can_serve =
        std::any_of(slots_.begin(), slots_.end(), [](const Slot& slot) { return !slot.spawn_error; });
    if (!any_can_serve) stranded = take_all_queued();
  }
  for (auto& task : stranded) fail_task(task, error);
}

void PoolSlots::retry_failed_spawns() {
  std::vector<std::size_t> retried;
  {
    std::lock_guard lock(mutex_);
    retried = claim_failed_slots();
  }
  for (const auto i : retried) post_spawn(i);
}

std::vector<std::size_t> PoolSlots::claim_failed_slots() {
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

/// On the supervisor thread: starts slot i's worker and takes it in.
void PoolSlots::spawn(std::size_t i) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || broken_) return;
  }
  auto worker = std::make_shared<PoolWorker>();
  control_.reset(i);  // the previous worker of this slot is dead and reaped: its words start over
  worker->control = &control_;
  worker->slot = i;
  try {
    worker->channel = Channel::create(kChannelSize);
    worker->child = std::make_shared<ChildProcess>(
        spawn_worker(options_.worker_executable, worker->channel.fd(),
                     PoolSeat{.control_fd = control_.control_fd(i), .bell_fd = control_.bell_fd()},
                     options_.worker_output, options_.limits, options_.sandbox));
  } catch (...) {
    spawn_failed(i, current_exception_as_isolate_error("cannot start a pool worker"));
    return;
  }
  worker->channel.allow_attach();  // we hold its pidfd: the worker may start
  if (!take_in(i, worker)) {
    worker->child->kill();
    (void)worker->child->wait();
  }
}

bool PoolSlots::take_in(std::size_t i, const std::shared_ptr<PoolWorker>& worker) {
  std::weak_ptr<PoolSlots> weak = weak_from_this();
  try {
    worker->start_timer = TimerService::instance().schedule(TimerService::Clock::now() + options_.start_timeout,
                                                            [weak, i, w = std::weak_ptr<PoolWorker>(worker)] {
                                                              auto self = weak.lock();
                                                              auto target = w.lock();
                                                              if (self && target) self->on_start_timeout(i, target);
                                                            });
  } catch (...) {
    // Never a worker without its start timeout: the slot waits for a retry instead.
    spawn_failed(i, current_exception_as_isolate_error("cannot start a pool worker's start timer"));
    return false;
  }
  std::shared_ptr<PoolTask> next;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    slots_[i].worker = worker;
    slots_[i].state = SlotState::idle;
    next = take_queued(i);
  }
  (void)Supervisor::instance().watch(worker->child,
                                     [weak, i, w = std::weak_ptr<PoolWorker>(worker)](ExitStatus status) {
                                       auto self = weak.lock();
                                       auto target = w.lock();
                                       if (self && target) self->on_exit(i, target, status);
                                     });
  if (next) dispatch(i, worker, next);
  return true;
}

void PoolSlots::on_start_timeout(std::size_t i, const std::shared_ptr<PoolWorker>& worker) {
  std::lock_guard lock(mutex_);
  if (slots_[i].worker != worker || worker->ready()) return;
  worker->start_timed_out = true;
  worker->child->kill();
}

/// On the supervisor thread: slot i's worker is gone. Its job fails (a start failure, or how the
/// worker died), and the slot gets a new worker unless starts keep failing.
void PoolSlots::on_exit(std::size_t i, const std::shared_ptr<PoolWorker>& worker, const ExitStatus& status) {
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
      start_failure =
          start_failure_error(options_.worker_executable, status, worker->start_timed_out, options_.start_timeout);
      ++start_failures_;
    } else {
      start_failures_ = 0;
    }
    respawn = start_failures_ < kMaxConsecutiveStartFailures;
    if (respawn) begin_spawn(i);
  }
  if (!respawn) mark_broken(start_failure);
  if (task)
    fail_task(task, start_failure ? start_failure : worker_ended_error(status, options_.limits, options_.sandbox));
  if (respawn) post_spawn(i);
}

void PoolSlots::retire(std::size_t i, const std::shared_ptr<PoolWorker>& worker) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (slots_[i].worker != worker || slots_[i].state == SlotState::dead) return;
    slots_[i].task = nullptr;
    slots_[i].state = SlotState::dead;
  }
  worker->child->kill();
}

void PoolSlots::mark_broken(const std::exception_ptr& error) {
  std::deque<std::shared_ptr<PoolTask>> queued;
  {
    std::lock_guard lock(mutex_);
    if (!broken_) broken_ = error;
    queued = take_all_queued();
  }
  for (auto& task : queued) fail_task(task, error);
}

}  // namespace isolate::detail
