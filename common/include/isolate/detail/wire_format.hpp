// wire_format.hpp — how a request and its response are laid out in a shared segment (internal).
//
// A segment starts with a SegmentHeader; the record follows it. The parent writes the request
// record (job name, input codec tag, input payload) and sets state = requested; once it holds the
// worker's pidfd it publishes `watched`. The worker waits for `watched`, then sets
// state = attached as soon as it has mapped the segment, decodes the input, runs the job, then
// overwrites the record with its response (a value payload, or an error: type name and message),
// growing the segment if it must; it sets response_kind, then state = responded last (a pool
// worker then stores the request's sequence number in its SlotControl). A value that already
// lies in the segment past the response record (a job's output viewing its input) is not copied:
// the record says where it is (value_in_place: u64 offset, u64 size). The parent reads a response
// once the worker has exited (one-shot run) or answered (pool), and checks every length and
// offset against its own mapping: bad data is an IsolateError, never a crash.
#pragma once

#include <isolate/detail/futex.hpp>
#include <isolate/detail/shared_memory.hpp>
#include <isolate/export.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace isolate::detail {

inline constexpr std::uint32_t kSegmentMagic = 0x4C4F5349;  // "ISOL"
inline constexpr std::uint32_t kWireVersion = 3;  // 2: ResponseKind::value_in_place; 3: watched

enum class SegmentState : std::uint32_t { requested = 1, attached = 2, responded = 3 };
enum class ResponseKind : std::uint8_t { value = 1, error = 2, value_in_place = 3 };

struct alignas(64) SegmentHeader {
  std::uint32_t magic;
  std::uint32_t version;
  std::atomic<std::uint32_t> state;  // SegmentState; shared across processes (lock-free)
  std::uint32_t response_kind;       // ResponseKind, valid once state == responded
  std::uint64_t record_size;  // bytes of the record that follows the header
  std::atomic<std::uint64_t> segment_size;  // pool channel: whoever grew the segment last, its size
  /// The parent publishes 1 once it holds the worker's pidfd; the worker waits for it before it
  /// attaches. So a worker can never end before the parent can learn how it ended (with SIGCHLD
  /// ignored, a child that exits before its pidfd is opened is reaped by the kernel unseen).
  WakeWord watched;
};
static_assert(sizeof(SegmentHeader) == 64);

/// The control words of one pool worker, at a fixed address (in the pool's control segment) so
/// the dispatcher can read them while another thread grows and remaps the worker's data segment.
struct alignas(64) SlotControl {
  WakeWord request;                         // parent publishes the request's sequence number
  std::atomic<std::uint32_t> response_seq;  // worker: the sequence number it answered last
  std::atomic<std::uint32_t> worker_ready;  // worker: 1 once it serves
};

/// A pool's control segment, mapped by every worker of the pool: the doorbell a worker rings
/// after each response (the pool's dispatcher waits on it), then one SlotControl per worker.
struct alignas(64) Doorbell {
  WakeWord bell;
};
inline SlotControl& slot_control(SharedMemory& control, std::size_t slot) noexcept {
  return reinterpret_cast<SlotControl*>(control.data() + sizeof(Doorbell))[slot];
}
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
inline constexpr std::size_t kRecordOffset = sizeof(SegmentHeader);

/// Appends bytes to a segment's record, growing the segment (doubling) as needed.
/// Thread safety: one writer.
class ISOLATE_EXPORT ByteWriter {
 public:
  /// Writes at kRecordOffset of `segment` (which must be at least a header long).
  explicit ByteWriter(SharedMemory& segment) noexcept : segment_(segment), offset_(kRecordOffset) {}

  void write(const void* bytes, std::size_t n);
  void write_u8(std::uint8_t v) { write(&v, 1); }
  void write_u32(std::uint32_t v) { write(&v, sizeof v); }
  void write_u64(std::uint64_t v) { write(&v, sizeof v); }
  void write_string(std::string_view s);  // u32 length + bytes
  /// Writes a u64 placeholder; returns its offset for patch_u64.
  std::size_t reserve_u64();
  void patch_u64(std::size_t at, std::uint64_t v) noexcept { std::memcpy(segment_.data() + at, &v, sizeof v); }
  /// Makes room for n more bytes and returns where they go (valid until the next write).
  std::byte* extend(std::size_t n);
  /// If `bytes` lie in the segment past the 16 bytes this would write, records them as the
  /// payload where they are (u64 offset from the segment's start, u64 size), without copying,
  /// and returns true; otherwise writes nothing and returns false.
  bool refer(std::span<const std::byte> bytes);
  /// True if `bytes` overlap the segment's mapping (they would move if it grew).
  [[nodiscard]] bool overlaps(std::span<const std::byte> bytes) const noexcept;
  /// Bytes written after the header.
  [[nodiscard]] std::size_t record_size() const noexcept { return offset_ - kRecordOffset; }

 private:
  SharedMemory& segment_;
  std::size_t offset_;
};

/// Reads a record, checking every length against what is there. Throws IsolateError on
/// truncated or inconsistent data.
class ISOLATE_EXPORT ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

  std::uint8_t read_u8();
  std::uint32_t read_u32();
  std::uint64_t read_u64();
  std::string read_string();                       // u32 length + bytes
  std::span<const std::byte> read_bytes(std::uint64_t n);
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

 private:
  void need(std::uint64_t n) const;
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

/// The segment's header (the segment must be at least sizeof(SegmentHeader) long).
inline SegmentHeader& header_of(SharedMemory& segment) noexcept {
  return *reinterpret_cast<SegmentHeader*>(segment.data());
}

/// A fresh segment with a header in state `requested`, sized for `record_hint` bytes of record.
ISOLATE_EXPORT SharedMemory make_request_segment(std::size_t record_hint);

/// Publishes the record written by `writer`: sets record_size, then `state` (release).
ISOLATE_EXPORT void publish(SharedMemory& segment, const ByteWriter& writer, SegmentState state) noexcept;
/// A pool's control segment: a Doorbell and `slots` SlotControls, zeroed.
ISOLATE_EXPORT SharedMemory make_pool_control_segment(std::size_t slots);
/// True if `control` is large enough for slot `slot`.
inline bool has_slot(const SharedMemory& control, std::size_t slot) noexcept {
  return control.size() >= sizeof(Doorbell) + (slot + 1) * sizeof(SlotControl);
}
inline Doorbell& doorbell_of(SharedMemory& segment) noexcept { return *reinterpret_cast<Doorbell*>(segment.data()); }

/// The worker's side: publishes a response of `kind`.
ISOLATE_EXPORT void publish_response(SharedMemory& segment, const ByteWriter& writer, ResponseKind kind) noexcept;

/// The record of a published segment, checked against the segment's size. Throws IsolateError.
ISOLATE_EXPORT std::span<const std::byte> record_of(SharedMemory& segment);
/// How many payload bytes a responded segment's record claims to carry (a value_in_place
/// response: the size it refers to; else the record's size). Unchecked: a hint for how to read
/// it, never a bound (record_of and payload_in_place check). The segment must be at least 128
/// bytes long, as every channel is.
ISOLATE_EXPORT std::uint64_t claimed_payload_size(SharedMemory& segment) noexcept;
/// The payload a value_in_place response refers to (`record`: its record, from record_of), checked
/// to lie in the segment past the record. Throws IsolateError.
ISOLATE_EXPORT std::span<const std::byte> payload_in_place(SharedMemory& segment, std::span<const std::byte> record);

}  // namespace isolate::detail
