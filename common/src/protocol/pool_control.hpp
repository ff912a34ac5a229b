// pool_control.hpp — the handshake between a pool and its workers (internal).
//
// A pool's control segment holds a doorbell and one slot of control words per worker. The
// parent sends a job by publishing its sequence number in the slot (the request is already in
// the worker's channel); the worker, spinning briefly after each job and then sleeping on a futex,
// serves it, stores the number as answered and rings the doorbell, which the pool's dispatcher
// waits on. With channel.hpp, the only code that touches these words.
//
//   parent (PoolControl)                      worker (PoolSlot)
//   create(slots); reset(i) for a new worker   adopt(fd, i); announce_ready()
//   ready(i)                                   loop: wait_request(seen) ...
//   send(i, seq)                               ... serve the channel's request; answer(seq)
//   wait_bell(seen); answered(i, seq);
//   replacement_asked(i)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <isolate/detail/progress_cell.hpp>

#include "posix/futex.hpp"
#include "posix/shared_memory.hpp"

namespace isolate::detail {

/// The parent's side of a pool's control segment. Thread safety: the words are atomics; reset(i)
/// must not race with any other use of slot i.
class PoolControl {
 public:
  /// A control segment for `slots` workers, zeroed and sealed against shrinking. Throws
  /// IsolateError.
  [[nodiscard]] static PoolControl create(std::size_t slots);
  PoolControl() = default;
  /// The memfd, to pass to every worker.
  [[nodiscard]] int fd() const noexcept { return memory_.fd(); }

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
  explicit PoolControl(SharedMemory memory) noexcept : memory_(std::move(memory)) {}
  SharedMemory memory_;
};

/// A worker's side of its slot. Thread safety: the worker's one thread.
class PoolSlot {
 public:
  /// Slot `slot` of the control segment inherited as `fd` (ownership taken). Throws
  /// IsolateError if the segment has no such slot.
  [[nodiscard]] static PoolSlot adopt(int fd, std::size_t slot);
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
  PoolSlot(SharedMemory memory, std::size_t slot) noexcept : memory_(std::move(memory)), slot_(slot) {}
  SharedMemory memory_;
  std::size_t slot_ = 0;
};

}  // namespace isolate::detail
