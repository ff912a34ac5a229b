// channel.hpp — one request and its response in a shared-memory segment: the protocol both
// sides speak (internal).
//
// With pool_control.hpp, the only code that knows a record's layout (protocol/layout.hpp) or
// touches a state word. The parent writes a request and reads the response through a Channel;
// the worker attaches to it, reads the request and responds; one-shot runs use a fresh channel,
// a pool worker one channel for all its jobs.
//
//   parent                                   worker
//   Channel::create(hint)
//   write_request(job, tag, write_input)
//   (spawn; hold the pidfd) allow_attach()   Channel::adopt(fd); attach()  (waits for allow_attach)
//                                            read_request() -> {job, tag, input}
//                                            respond(write_output) or respond_error(type, message)
//   state() == responded; read_response()
#pragma once

#include <isolate/detail/byte_writer.hpp>
#include <isolate/detail/progress_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "posix/shared_memory.hpp"

namespace isolate::detail {

/// Writes a job's input payload (Codec<In>, through write_payload) after the request's header.
using InputWriter = std::function<void(ByteWriter&)>;
/// Writes a job's output payload; returns true if it recorded it in place (ByteWriter::refer).
using OutputWriter = std::function<bool(ByteWriter&)>;

/// An input the worker reads itself (FileInput): an fd it inherited, and how much it may hold.
struct InputFileSource {
  int fd = -1;
  std::uint64_t max_bytes = 0;
};

/// A request as the worker reads it. `input` lies in the channel: valid until the channel is
/// written or remapped. With `file` set, the input is that file's and `input` is empty.
struct Request {
  std::string job;
  std::string input_tag;
  std::span<const std::byte> input;
  std::size_t input_padding = 0;  // readable zero bytes after `input` (kInputPadding)
  std::optional<InputFileSource> file;
};

/// A response as the parent reads it: a value's payload (in the channel: valid until it is written
/// or remapped), or the job's exception as its type name and message.
struct Response {
  bool is_error = false;
  std::span<const std::byte> payload;
  std::string error_type;
  std::string error_message;
};

/// How far an exchange went, as the parent sees it.
enum class ChannelState { requested, attached, responded };

/// A memfd segment carrying one request at a time and its response. Move-only.
/// Thread safety: one thread at a time per side (the parent's writer or reader; the worker).
class Channel {
 public:
  /// A new channel with room for about `payload_hint` bytes of input, sealed against shrinking
  /// (no holder can make the other's mapping SIGBUS), in state requested: a worker may attach
  /// (a pool worker does, before its first request). Throws IsolateError (no fd, no memory).
  [[nodiscard]] static Channel create(std::size_t payload_hint);
  /// The worker's side: the channel inherited as `fd` (ownership taken). Throws IsolateError if
  /// it is not a channel of this wire version.
  [[nodiscard]] static Channel adopt(int fd);

  Channel() = default;
  /// The memfd, to pass to the worker.
  [[nodiscard]] int fd() const noexcept { return memory_.fd(); }
  /// Where a one-shot run's job reports its progress (in the header: its address stays put until
  /// the segment is remapped, which the parent does only to read the response).
  [[nodiscard]] ProgressCell& progress() noexcept;
  /// The segment itself (the protocol's tests look inside).
  [[nodiscard]] SharedMemory& memory() noexcept { return memory_; }

  // ---- the parent ----
  /// Writes the request for `job` (input codec `input_tag`, payload by `write_input`), growing
  /// the channel as needed, and publishes it: state requested. Throws what write_input throws,
  /// IsolateError, std::length_error.
  void write_request(std::string_view job, std::string_view input_tag, const InputWriter& write_input);
  /// Writes a request whose input the worker reads from `file` itself (state requested).
  void write_request(std::string_view job, std::string_view input_tag, const InputFileSource& file);
  /// The parent holds the worker's pidfd: the worker may attach (and so end). Once per channel.
  void allow_attach() noexcept;
  /// How far the exchange went (acquire: a `responded` response is complete).
  [[nodiscard]] ChannelState state() noexcept;
  /// The response (state responded), every length and offset checked against the segment, which
  /// is first mapped at the size its writer left it. Throws IsolateError for a malformed one.
  [[nodiscard]] Response read_response();
  /// How many payload bytes the response claims, unchecked: a hint for how to read it (a large
  /// one is read off the dispatcher thread), never a bound.
  [[nodiscard]] std::uint64_t claimed_payload_size() noexcept;

  // ---- the worker ----
  /// Waits until the parent allows it, then moves the request to attached. False if the channel
  /// holds no request (a second worker, a stale channel).
  [[nodiscard]] bool attach() noexcept;
  /// The request, mapped at the size the parent left the channel. Throws IsolateError.
  [[nodiscard]] Request read_request();
  /// Writes the job's output over the request (it may refer to the input in place) and publishes
  /// it: state responded. Throws what write_output throws; nothing is published then.
  void respond(const OutputWriter& write_output);
  /// Writes the job's exception (type name, message) and publishes it: state responded.
  void respond_error(std::string_view type_name, std::string_view message);

 private:
  explicit Channel(SharedMemory memory) noexcept : memory_(std::move(memory)) {}
  /// Maps the whole segment if another holder grew it (announced size, else fstat).
  void map_whole();
  void publish(const ByteWriter& record, std::uint32_t state) noexcept;

  SharedMemory memory_;
  /// Where the bytes this side has not written begin in a segment it created (its pages are new:
  /// ByteWriter copies a large request into them on two threads); unknown in an adopted one.
  std::size_t untouched_from_ = ByteWriter::kNoneUntouched;
};

}  // namespace isolate::detail
