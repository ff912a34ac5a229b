// pool_control.hpp — the handshake between a pool and its workers (internal).
//
// A pool has a doorbell segment and, per slot, a control segment of that slot's words. The
// parent sends a job by publishing its sequence number in the slot (the request is already in
// the worker's channel); the worker, spinning briefly after each job and then sleeping on a futex,
// serves it, stores the number as answered and rings the doorbell, which the pool's dispatcher
// waits on. A worker maps the doorbell and its own slot's segment, never another's: a job (say, a
// parser an input took over) cannot forge another worker's answer, request, progress or plea to
// be replaced. What it can do to the doorbell (ring it, or set it back) costs the dispatcher a
// spurious look at its slots, or delays it until its next look (at most 100 ms later). With
// channel.hpp, the only code that touches these words.
//
//   parent (PoolControl)                      worker (PoolSlot)
//   create(slots); reset(i) for a new worker   adopt(control_fd, bell_fd); announce_ready()
//   ready(i)                                   loop: wait_request(seen) ...
//   send(i, seq)                               ... serve the channel's request; answer(seq)
//   wait_bell(seen); answered(i, seq);
//   replacement_asked(i)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <isolate/detail/progress_cell.hpp>

#include "posix/futex.hpp"
#include "posix/shared_memory.hpp"

namespace isolate::detail {

/// The parent's side of a pool's doorbell and control segments. Thread safety: the words are atomics; reset(i)
/// must not race with any other use of slot i.
class PoolControl {
 public:
  /// A doorbell and the control segments of `slots` workers, zeroed and sealed against
  /// shrinking. Throws IsolateError.
  [[nodiscard]] static PoolControl create(std::size_t slots);
  PoolControl() = default;
  /// The doorbell's memfd, to pass to every worker.
  [[nodiscard]] int bell_fd() const noexcept { return bell_.fd(); }
  /// Slot i's control segment's memfd, to pass to slot i's worker only.
  [[nodiscard]] int control_fd(std::size_t i) const noexcept { return slots_[i].fd(); }

  /// Slot i starts over for a new worker (the last one is dead and reaped).
  void reset(std::size_t i) noexcept;
  /// The worker of slot i serves.
  [[nodiscard]] bool ready(std::size_t i) noexcept;
  /// Sends the request now in slot i's channel, as number `seq`; wakes the worker if it sleeps.
  void send(std::size_t i, std::uint32_t seq) noexcept;
  /// The worker of slot i has answered request `seq`.
  [[nodiscard]] bool answered(std::size_t i, std::uint32_t seq) noexcept;
  /// The worker of slot i asked, with an answer, to be replaced (its CPU limit has no room left
  /// for another job): it must get no further request. Valid once answered() was true.
  [[nodiscard]] bool replacement_asked(std::size_t i) noexcept;
  /// Waits for a ring after `seen` (spinning for `spin` first), at most `timeout`; returns the
  /// bell's value.
  [[nodiscard]] std::uint32_t wait_bell(std::uint32_t seen, std::chrono::nanoseconds spin,
                                        std::chrono::nanoseconds timeout) noexcept;
  [[nodiscard]] std::uint32_t bell() noexcept;
  /// Where the job of slot i reports its progress (a fixed address while the pool lives).
  [[nodiscard]] ProgressCell& progress(std::size_t i) noexcept;
  /// Wakes the dispatcher (a job was sent, or the pool shuts down).
  void ring() noexcept;

 private:
  PoolControl(SharedMemory bell, std::vector<SharedMemory> slots) noexcept
      : bell_(std::move(bell)), slots_(std::move(slots)) {}
  SharedMemory bell_;
  std::vector<SharedMemory> slots_;
};

/// A worker's side of its slot. Thread safety: the worker's one thread.
class PoolSlot {
 public:
  /// The slot whose control segment is inherited as `control_fd`, ringing the doorbell inherited
  /// as `bell_fd` (ownership of both taken). Throws IsolateError if either is too small.
  [[nodiscard]] static PoolSlot adopt(int control_fd, int bell_fd);
  /// Tells the pool this worker serves.
  void announce_ready() noexcept;
  /// Waits for a request numbered other than `seen` (spinning for `spin` first, yielding between
  /// polls), at most `timeout` (negative: no limit). Returns its number, or `seen` on timeout.
  [[nodiscard]] std::uint32_t wait_request(std::uint32_t seen, std::chrono::nanoseconds spin,
                                           std::chrono::nanoseconds timeout) noexcept;
  /// Where this worker's jobs report their progress.
  [[nodiscard]] ProgressCell& progress() noexcept;
  /// Request `seq` is answered (its response is published in the channel): rings the doorbell.
  /// With `replace_me`, the pool is asked to replace this worker instead of sending it more.
  void answer(std::uint32_t seq, bool replace_me = false) noexcept;

 private:
  PoolSlot(SharedMemory control, SharedMemory bell) noexcept : control_(std::move(control)), bell_(std::move(bell)) {}
  SharedMemory control_;
  SharedMemory bell_;
};

}  // namespace isolate::detail
