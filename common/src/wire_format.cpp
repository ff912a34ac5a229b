// wire_format.cpp — bounds-checked reading and growable writing of segment records.
#include <isolate/detail/fresh_memory.hpp>
#include <isolate/detail/wire_format.hpp>
#include <isolate/errors.hpp>

#include <algorithm>
#include <limits>
#include <new>

namespace isolate::detail {

std::byte* ByteWriter::extend(std::size_t n) {
  const std::size_t need = offset_ + n;
  if (need < offset_) throw std::length_error("isolate: record too large");
  if (need > segment_.size()) {
    std::size_t grown = std::max<std::size_t>(segment_.size(), 4096);
    while (grown < need) grown = grown > std::numeric_limits<std::size_t>::max() / 2 ? need : grown * 2;
    segment_.resize(grown);
    prepare_fresh_memory(segment_.data() + offset_, n);  // new pages: fault them in at once
  }
  std::byte* at = segment_.data() + offset_;
  offset_ = need;
  return at;
}

void ByteWriter::write(const void* bytes, std::size_t n) {
  if (n == 0) return;
  std::memcpy(extend(n), bytes, n);
}

void ByteWriter::write_string(std::string_view s) {
  if (s.size() > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("isolate: string too long");
  write_u32(static_cast<std::uint32_t>(s.size()));
  write(s.data(), s.size());
}

namespace {
constexpr std::size_t kInPlaceRecord = 2 * sizeof(std::uint64_t);

std::uintptr_t address(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }
}  // namespace

bool ByteWriter::overlaps(std::span<const std::byte> bytes) const noexcept {
  if (bytes.empty() || segment_.size() == 0) return false;
  const auto first = address(segment_.data());
  return address(bytes.data()) < first + segment_.size() && address(bytes.data()) + bytes.size() > first;
}

bool ByteWriter::refer(std::span<const std::byte> bytes) {
  if (bytes.empty() || segment_.size() < offset_ + kInPlaceRecord) return false;
  const auto first = address(segment_.data());
  const auto at = address(bytes.data());
  if (at < first + offset_ + kInPlaceRecord || at > first + segment_.size() ||
      bytes.size() > first + segment_.size() - at) {
    return false;
  }
  write_u64(at - first);
  write_u64(bytes.size());
  return true;
}

std::size_t ByteWriter::reserve_u64() {
  const std::size_t at = offset_;
  write_u64(0);
  return at;
}

void ByteReader::need(std::uint64_t n) const {
  if (n > remaining()) {
    throw IsolateError("isolate: truncated record in shared memory (needed " + std::to_string(n) +
                       " more bytes, " + std::to_string(remaining()) + " left)");
  }
}

std::uint8_t ByteReader::read_u8() {
  need(1);
  return std::to_integer<std::uint8_t>(bytes_[pos_++]);
}

std::uint32_t ByteReader::read_u32() {
  need(4);
  std::uint32_t v;
  std::memcpy(&v, bytes_.data() + pos_, 4);
  pos_ += 4;
  return v;
}

std::uint64_t ByteReader::read_u64() {
  need(8);
  std::uint64_t v;
  std::memcpy(&v, bytes_.data() + pos_, 8);
  pos_ += 8;
  return v;
}

std::string ByteReader::read_string() {
  auto bytes = read_bytes(read_u32());
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const std::byte> ByteReader::read_bytes(std::uint64_t n) {
  need(n);
  auto out = bytes_.subspan(pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return out;
}

SharedMemory make_request_segment(std::size_t record_hint) {
  auto segment = SharedMemory::create(kRecordOffset + std::max<std::size_t>(record_hint, 64));
  segment.forbid_shrinking();  // a worker that truncates its channel must not SIGBUS the parent
  auto* header = new (segment.data()) SegmentHeader{};
  header->magic = kSegmentMagic;
  header->version = kWireVersion;
  header->state.store(static_cast<std::uint32_t>(SegmentState::requested), std::memory_order_relaxed);
  header->response_kind = 0;
  header->record_size = 0;
  header->segment_size.store(segment.size(), std::memory_order_relaxed);
  return segment;
}

SharedMemory make_pool_control_segment(std::size_t slots) {
  auto segment = SharedMemory::create(sizeof(Doorbell) + slots * sizeof(SlotControl));
  segment.forbid_shrinking();  // shared by every worker of the pool: none may cut it short
  new (segment.data()) Doorbell{};
  for (std::size_t i = 0; i < slots; ++i) new (&slot_control(segment, i)) SlotControl{};
  return segment;
}

void publish(SharedMemory& segment, const ByteWriter& writer, SegmentState state) noexcept {
  auto& header = header_of(segment);
  header.record_size = writer.record_size();
  header.state.store(static_cast<std::uint32_t>(state), std::memory_order_release);
}

void publish_response(SharedMemory& segment, const ByteWriter& writer, ResponseKind kind) noexcept {
  header_of(segment).response_kind = static_cast<std::uint32_t>(kind);
  publish(segment, writer, SegmentState::responded);
}

std::span<const std::byte> record_of(SharedMemory& segment) {
  if (segment.size() < kRecordOffset) throw IsolateError("isolate: shared segment smaller than its header");
  auto& header = header_of(segment);
  if (header.magic != kSegmentMagic || header.version != kWireVersion) {
    throw IsolateError("isolate: shared segment has a bad header (a worker of another isolate version?)");
  }
  if (header.record_size > segment.size() - kRecordOffset) {
    throw IsolateError("isolate: record size " + std::to_string(header.record_size) +
                       " exceeds the shared segment (" + std::to_string(segment.size()) + " bytes)");
  }
  return {segment.data() + kRecordOffset, static_cast<std::size_t>(header.record_size)};
}

std::uint64_t claimed_payload_size(SharedMemory& segment) noexcept {
  const auto& header = header_of(segment);
  if (header.response_kind != static_cast<std::uint32_t>(ResponseKind::value_in_place)) return header.record_size;
  std::uint64_t size = 0;  // the record is u64 offset, u64 size
  std::memcpy(&size, segment.data() + kRecordOffset + sizeof(std::uint64_t), sizeof size);
  return size;
}

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

}  // namespace isolate::detail
