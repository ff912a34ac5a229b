// channel.cpp — Channel: writing, publishing and checking records (see channel.hpp).
#include "protocol/channel.hpp"

#include <isolate/detail/fresh_memory.hpp>
#include <isolate/errors.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "protocol/byte_reader.hpp"
#include "protocol/layout.hpp"

namespace isolate::detail {
namespace {

std::span<const std::byte> record_of(SharedMemory& segment) {
  if (segment.size() < kRecordOffset) throw IsolateError("isolate: shared segment smaller than its header");
  const auto& header = header_of(segment);
  if (header.magic != kSegmentMagic || header.version != kWireVersion) {
    throw IsolateError("isolate: shared segment has a bad header (a worker of another isolate version?)");
  }
  if (header.record_size > segment.size() - kRecordOffset) {
    throw IsolateError("isolate: record size " + std::to_string(header.record_size) + " exceeds the shared segment (" +
                       std::to_string(segment.size()) + " bytes)");
  }
  return {segment.data() + kRecordOffset, static_cast<std::size_t>(header.record_size)};
}

/// The payload a value_in_place response refers to, checked to lie in the segment past the
/// record.
std::span<const std::byte> payload_in_place(SharedMemory& segment, std::span<const std::byte> record) {
  ByteReader reader(record);
  const auto offset = reader.read_u64();
  const auto size = reader.read_u64();
  const std::uint64_t record_end = kRecordOffset + record.size();  // record lies in the segment: no overflow
  if (offset < record_end || offset > segment.size() || size > segment.size() - offset) {
    throw IsolateError("isolate: a response refers to bytes " + std::to_string(offset) + "+" + std::to_string(size) +
                       " outside the shared segment's payload area (" + std::to_string(record_end) + ".." +
                       std::to_string(segment.size()) + ")");
  }
  return {segment.data() + offset, static_cast<std::size_t>(size)};
}

}  // namespace

Channel Channel::create(std::size_t payload_hint) {
  auto segment = SharedMemory::create(kRecordOffset + std::max<std::size_t>(payload_hint, 64));
  segment.forbid_shrinking();  // a worker that truncates its channel must not SIGBUS the parent
  // The request is about to be written there: fault its pages in at once (100 MB: one madvise
  // instead of 24,000 faults in the copy), as ByteWriter does for what it grows.
  prepare_fresh_memory(static_cast<std::byte*>(segment.data()) + kRecordOffset, payload_hint);
  auto* header = new (segment.data()) SegmentHeader{};
  header->magic = kSegmentMagic;
  header->version = kWireVersion;
  header->segment_size.store(segment.size(), std::memory_order_relaxed);
  // Waiting for its worker: a pool worker attaches before its first request is written.
  header->state.store(static_cast<std::uint32_t>(SegmentState::requested), std::memory_order_relaxed);
  Channel channel(std::move(segment));
  channel.untouched_from_ = kRecordOffset;
  return channel;
}

Channel Channel::adopt(int fd) {
  auto segment = SharedMemory::adopt(fd);
  if (segment.size() < kRecordOffset) throw IsolateError("isolate: the worker's channel is smaller than its header");
  const auto& header = header_of(segment);
  if (header.magic != kSegmentMagic || header.version != kWireVersion) {
    throw IsolateError(
        "isolate: the worker's channel has a bad header (parent and worker of different isolate "
        "versions?)");
  }
  return Channel(std::move(segment));
}

void Channel::write_request(std::string_view job, std::string_view input_tag, const InputWriter& write_input) {
  map_whole();  // a pool worker may have grown the channel for its last response
  ByteWriter writer(memory_, kRecordOffset, untouched_from_);
  writer.write_string(job);
  writer.write_string(input_tag);
  writer.write_u8(static_cast<std::uint8_t>(InputKind::bytes));
  const auto size_at = writer.reserve_u64();
  const auto before = writer.written();
  write_input(writer);
  writer.patch_u64(size_at, writer.written() - before);
  std::memset(writer.extend(kInputPadding), 0, kInputPadding);  // a pool channel holds old bytes
  untouched_from_ = writer.untouched_from();
  publish(writer, static_cast<std::uint32_t>(SegmentState::requested));
}

void Channel::write_request(std::string_view job, std::string_view input_tag, const InputFileSource& file) {
  map_whole();
  ByteWriter writer(memory_, kRecordOffset);
  writer.write_string(job);
  writer.write_string(input_tag);
  writer.write_u8(static_cast<std::uint8_t>(InputKind::file));
  writer.write_u32(static_cast<std::uint32_t>(file.fd));
  writer.write_u64(file.max_bytes);
  publish(writer, static_cast<std::uint32_t>(SegmentState::requested));
}

ProgressCell& Channel::progress() noexcept { return header_of(memory_).progress; }

void Channel::allow_attach() noexcept { header_of(memory_).watched.publish(1); }

ChannelState Channel::state() noexcept {
  switch (static_cast<SegmentState>(header_of(memory_).state.load(std::memory_order_acquire))) {
    case SegmentState::responded:
      return ChannelState::responded;
    case SegmentState::attached:
      return ChannelState::attached;
    case SegmentState::requested:
      break;
  }
  return ChannelState::requested;  // also for a value a broken worker left: it never answered
}

Response Channel::read_response() {
  map_whole();
  const auto record = record_of(memory_);
  ByteReader reader(record);
  const auto kind = header_of(memory_).response_kind;
  Response response;
  switch (static_cast<ResponseKind>(kind)) {
    case ResponseKind::value:
      response.payload = reader.read_bytes(reader.read_u64());
      return response;
    case ResponseKind::value_in_place:
      response.payload = payload_in_place(memory_, record);
      return response;
    case ResponseKind::error:
      response.is_error = true;
      response.error_type = reader.read_string();
      response.error_message = reader.read_string();
      return response;
  }
  throw IsolateError("isolate: the worker sent a response of unknown kind " + std::to_string(kind));
}

std::uint64_t Channel::claimed_payload_size() noexcept {
  const auto& header = header_of(memory_);
  if (header.response_kind != static_cast<std::uint32_t>(ResponseKind::value_in_place)) return header.record_size;
  std::uint64_t size = 0;  // the record is u64 offset, u64 size (every channel is longer than that)
  std::memcpy(&size, memory_.data() + kRecordOffset + sizeof(std::uint64_t), sizeof size);
  return size;
}

bool Channel::attach() noexcept {
  auto& header = header_of(memory_);
  // Not before the parent holds our pidfd: ending unwatched, with SIGCHLD ignored in the parent,
  // would take how we ended with us. (Dying with the parent meanwhile: PDEATHSIG.)
  (void)header.watched.wait_change(0, Spin{});
  auto expected = static_cast<std::uint32_t>(SegmentState::requested);
  return header.state.compare_exchange_strong(expected, static_cast<std::uint32_t>(SegmentState::attached));
}

Request Channel::read_request() {
  map_whole();  // the parent may have grown the channel for a large request
  ByteReader reader(record_of(memory_));
  Request request;
  request.job = reader.read_string();
  request.input_tag = reader.read_string();
  const auto kind = reader.read_u8();
  if (kind == static_cast<std::uint8_t>(InputKind::file)) {
    const auto fd = reader.read_u32();
    if (fd > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
      throw IsolateError("isolate: a request names input fd " + std::to_string(fd));
    }
    request.file = InputFileSource{static_cast<int>(fd), reader.read_u64()};
    return request;
  }
  if (kind != static_cast<std::uint8_t>(InputKind::bytes)) {
    throw IsolateError("isolate: a request has an input of unknown kind " + std::to_string(kind));
  }
  request.input = reader.read_bytes(reader.read_u64());
  request.input_padding = std::min(reader.remaining(), kInputPadding);  // zeros the parent wrote
  return request;
}

void Channel::respond(const OutputWriter& write_output) {
  ByteWriter writer(memory_, kRecordOffset, untouched_from_);
  const bool in_place = write_output(writer);
  untouched_from_ = writer.untouched_from();
  header_of(memory_).response_kind =
      static_cast<std::uint32_t>(in_place ? ResponseKind::value_in_place : ResponseKind::value);
  publish(writer, static_cast<std::uint32_t>(SegmentState::responded));
}

void Channel::respond_error(std::string_view type_name, std::string_view message) {
  ByteWriter writer(memory_, kRecordOffset);  // starts over: a half-written value is discarded
  writer.write_string(type_name);
  writer.write_string(message);
  header_of(memory_).response_kind = static_cast<std::uint32_t>(ResponseKind::error);
  publish(writer, static_cast<std::uint32_t>(SegmentState::responded));
}

void Channel::map_whole() {
  const auto announced = header_of(memory_).segment_size.load(std::memory_order_acquire);
  if (announced == memory_.size()) return;  // the fast path of a pool channel: no system call
  struct stat st {};
  if (::fstat(memory_.fd(), &st) != 0) throw IsolateError("isolate: cannot stat a worker's channel");
  if (static_cast<std::size_t>(st.st_size) > memory_.size()) memory_.resize(static_cast<std::size_t>(st.st_size));
}

void Channel::publish(const ByteWriter& record, std::uint32_t state) noexcept {
  auto& header = header_of(memory_);
  header.record_size = record.written();
  header.segment_size.store(memory_.size(), std::memory_order_relaxed);
  header.state.store(state, std::memory_order_release);
}

}  // namespace isolate::detail
