// layout.hpp — how a channel's header, a pool's control words and the records are laid out in
// shared memory (internal to the protocol: only src/protocol/*.cpp and the protocol's tests
// include it).
//
// A channel segment starts with a SegmentHeader; the record follows it at kRecordOffset.
//
//   request  (parent):  string job, string input_tag, u8 InputKind, then
//                       bytes: u64 size + input payload + kInputPadding zero bytes (not in size)
//                       file:  u32 fd (the worker's), u64 max_bytes (the worker reads the fd)
//   response (worker):  value:          u64 size + payload
//                       value_in_place: u64 offset, u64 size   (bytes further on in the segment)
//                       error:          string type_name, string message
//   (string = u32 length + bytes; integers in the machine's byte order: both sides are one host)
//
// States (SegmentHeader::state): the parent publishes `requested` with the request; the worker,
// once the parent has set `watched`, moves it to `attached` and later to `responded`, after the
// response record and its kind. A pool has a doorbell segment (a Doorbell), which every worker
// rings, and a control segment per worker (its SlotControl), which only that worker maps: a job
// cannot reach another worker's control words (see PoolControl).
#pragma once

#include <isolate/detail/progress_cell.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "posix/futex.hpp"
#include "posix/shared_memory.hpp"
#include "protocol/worker_argument.hpp"

namespace isolate::detail {

inline constexpr std::uint32_t kSegmentMagic = 0x4C4F5349;  // "ISOL"; the version: kWireVersion

enum class SegmentState : std::uint32_t { requested = 1, attached = 2, responded = 3 };
enum class ResponseKind : std::uint8_t { value = 1, error = 2, value_in_place = 3 };
enum class InputKind : std::uint8_t { bytes = 0, file = 1 };

struct alignas(64) SegmentHeader {
  std::uint32_t magic;
  std::uint32_t version;
  std::atomic<std::uint32_t> state;         // SegmentState; shared across processes (lock-free)
  std::uint32_t response_kind;              // ResponseKind, valid once state == responded
  std::uint64_t record_size;                // bytes of the record that follows the header
  std::atomic<std::uint64_t> segment_size;  // pool channel: whoever grew the segment last, its size
  /// The parent publishes 1 once it holds the worker's pidfd; the worker waits for it before it
  /// attaches. So a worker can never end before the parent can learn how it ended (with SIGCHLD
  /// ignored, a child that exits before its pidfd is opened is reaped by the kernel unseen).
  WakeWord watched;
  /// A one-shot run's job reports its progress here (JobContext::report_progress).
  ProgressCell progress;
};
static_assert(sizeof(SegmentHeader) == 64);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
inline constexpr std::size_t kRecordOffset = sizeof(SegmentHeader);
inline constexpr std::size_t kInPlaceRecord = 2 * sizeof(std::uint64_t);
/// Zero bytes after a request's input payload: a job may read that far past the end of a view
/// input (JobContext::input_padding), as simdjson-class parsers do.
inline constexpr std::size_t kInputPadding = 64;

/// The control words of one pool worker, in a segment of their own (its slot's, for the pool's
/// life) at a fixed address, so that the dispatcher reads them while another thread grows and
/// remaps the worker's channel.
struct alignas(64) SlotControl {
  WakeWord request;                         // parent publishes the request's sequence number
  std::atomic<std::uint32_t> response_seq;  // worker: the sequence number it answered last
  std::atomic<std::uint32_t> worker_ready;  // worker: kWorkerServes, kWorkerAsksReplacement
  ProgressCell progress;                    // the running job's progress; parent resets it per job
};
static_assert(sizeof(SlotControl) == 64);

/// SlotControl::worker_ready: 0 until the worker serves; then kWorkerServes, or, from an answer
/// on, kWorkerAsksReplacement (its CPU limit has no room for another job: send it no more).
inline constexpr std::uint32_t kWorkerServes = 1;
inline constexpr std::uint32_t kWorkerAsksReplacement = 2;

/// What a worker rings after each response; the pool's dispatcher waits on it.
struct alignas(64) Doorbell {
  WakeWord bell;
};

inline SegmentHeader& header_of(SharedMemory& segment) noexcept {
  return *reinterpret_cast<SegmentHeader*>(segment.data());
}
inline Doorbell& doorbell_of(SharedMemory& bell) noexcept { return *reinterpret_cast<Doorbell*>(bell.data()); }
inline SlotControl& slot_control(SharedMemory& control) noexcept {
  return *reinterpret_cast<SlotControl*>(control.data());
}

}  // namespace isolate::detail
