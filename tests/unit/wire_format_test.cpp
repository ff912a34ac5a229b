// Unit tests of the wire format: the bounds-checked reader, segment publication, and the worker
// argument. Bad or truncated data must be an IsolateError, never a crash.
#include <isolate/detail/codec.hpp>
#include <isolate/detail/wire_format.hpp>
#include <isolate/detail/worker_protocol.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace isolate::detail {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (auto v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// A worker holds the fds of its channel and of the pool's control segment: truncating either
// must fail, or the parent's next touch of its mapping would be a SIGBUS.
TEST(Segments, ChannelAndControlSegmentsCannotBeTruncatedByAnyHolder) {
  auto request = make_request_segment(100);
  auto control = make_pool_control_segment(2);
  for (SharedMemory* segment : {&request, &control}) {
    errno = 0;
    EXPECT_EQ(::ftruncate(segment->fd(), 0), -1);
    EXPECT_EQ(errno, EPERM);
    // Nor can a holder seal it against growth or writes (F_SEAL_SEAL).
    errno = 0;
    EXPECT_EQ(::fcntl(segment->fd(), F_ADD_SEALS, F_SEAL_GROW), -1);
    EXPECT_EQ(errno, EPERM);
  }
}

TEST(ByteReader, ReadsWhatByteWriterWrote) {
  auto segment = make_request_segment(16);
  ByteWriter writer(segment);
  writer.write_string("job");
  writer.write_u64(0x0102030405060708ull);
  writer.write_u8(9);
  publish(segment, writer, SegmentState::requested);
  ByteReader reader(record_of(segment));
  EXPECT_EQ(reader.read_string(), "job");
  EXPECT_EQ(reader.read_u64(), 0x0102030405060708ull);
  EXPECT_EQ(reader.read_u8(), 9);
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(ByteReader, TruncatedIntegerIsAnIsolateError) {
  const auto data = bytes_of({1, 2, 3});
  ByteReader reader(data);
  EXPECT_THROW(reader.read_u32(), IsolateError);
}

TEST(ByteReader, StringLengthPastTheEndIsAnIsolateError) {
  const auto data = bytes_of({200, 0, 0, 0, 'a', 'b'});  // claims 200 bytes, has 2
  ByteReader reader(data);
  EXPECT_THROW(reader.read_string(), IsolateError);
}

TEST(ByteReader, HugeLengthDoesNotOverflowTheBoundsCheck) {
  ByteReader reader(bytes_of({1, 2}));
  EXPECT_THROW(reader.read_bytes(~0ull), IsolateError);
}

TEST(ByteWriter, GrowsTheSegmentForLargeRecords) {
  auto segment = make_request_segment(0);
  const auto initial = segment.size();
  std::vector<char> big(1 << 20, 'x');
  ByteWriter writer(segment);
  writer.write(big.data(), big.size());
  publish(segment, writer, SegmentState::requested);
  EXPECT_GT(segment.size(), initial);
  EXPECT_EQ(record_of(segment).size(), big.size());
  EXPECT_EQ(std::memcmp(record_of(segment).data(), big.data(), big.size()), 0);
}

TEST(RecordOf, RecordSizeBeyondTheSegmentIsAnIsolateError) {
  auto segment = make_request_segment(16);
  header_of(segment).record_size = segment.size();
  EXPECT_THROW((void)record_of(segment), IsolateError);
}

TEST(RecordOf, BadMagicIsAnIsolateError) {
  auto segment = make_request_segment(16);
  header_of(segment).magic = 0;
  EXPECT_THROW((void)record_of(segment), IsolateError);
}

// A request whose payload follows a job name and tag, as the parent writes it; returns where the
// payload lies in the segment.
std::span<const std::byte> write_request(SharedMemory& segment, std::string_view payload) {
  ByteWriter writer(segment);
  writer.write_string("job");
  writer.write_string("bytes");
  write_payload<std::string_view>(payload, writer);
  publish(segment, writer, SegmentState::requested);
  auto record = record_of(segment);
  return record.subspan(record.size() - payload.size());
}

TEST(ByteWriter, RefersToBytesPastTheRecordWithoutCopyingThem) {
  auto segment = make_request_segment(64);
  const auto payload = write_request(segment, "in place payload");
  const auto tail = payload.subspan(3);
  ByteWriter response(segment);
  ASSERT_TRUE(response.refer(tail));
  publish_response(segment, response, ResponseKind::value_in_place);
  const auto found = payload_in_place(segment, record_of(segment));
  EXPECT_EQ(found.data(), tail.data()) << "the same bytes, not a copy";
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(found.data()), found.size()), "place payload");
}

TEST(ByteWriter, DoesNotReferToBytesOutsideTheSegmentOrUnderItsRecord) {
  auto segment = make_request_segment(64);
  (void)write_request(segment, "payload");
  const std::string elsewhere = "elsewhere";
  ByteWriter response(segment);
  EXPECT_FALSE(response.refer(std::as_bytes(std::span(elsewhere))));
  EXPECT_FALSE(response.overlaps(std::as_bytes(std::span(elsewhere))));
  // The job's name sits where the response record goes: it cannot stay in place.
  const auto name = record_of(segment).subspan(4, 3);
  EXPECT_FALSE(response.refer(name));
  EXPECT_TRUE(response.overlaps(name));
  EXPECT_FALSE(response.refer({})) << "nothing to refer to";
  EXPECT_EQ(response.record_size(), 0u) << "a refused refer() writes nothing";
}

TEST(ClaimedPayloadSize, IsTheRecordSizeOrTheSizeAnInPlaceResponseRefersTo) {
  auto segment = make_request_segment(64);
  const auto payload = write_request(segment, "twenty bytes of data");
  {
    ByteWriter response(segment);
    write_payload<std::string_view>("copied", response);
    publish_response(segment, response, ResponseKind::value);
  }
  EXPECT_EQ(claimed_payload_size(segment), 8u + 6u) << "length prefix + bytes";
  (void)write_request(segment, "twenty bytes of data");
  ByteWriter response(segment);
  ASSERT_TRUE(response.refer(payload));
  publish_response(segment, response, ResponseKind::value_in_place);
  EXPECT_EQ(claimed_payload_size(segment), 20u);
}

TEST(PayloadInPlace, OffsetsOutsideTheSegmentOrInsideTheRecordAreIsolateErrors) {
  auto segment = make_request_segment(64);
  const auto size = segment.size();
  struct Case {
    std::uint64_t offset;
    std::uint64_t length;
  };
  for (const auto& c : {Case{size + 1, 0}, Case{kRecordOffset + 64, size}, Case{kRecordOffset, 4},
                        Case{kRecordOffset + 64, ~0ull}, Case{~0ull, 2}}) {
    ByteWriter response(segment);
    response.write_u64(c.offset);
    response.write_u64(c.length);
    publish_response(segment, response, ResponseKind::value_in_place);
    EXPECT_THROW((void)payload_in_place(segment, record_of(segment)), IsolateError) << c.offset << "+" << c.length;
  }
  ByteWriter response(segment);
  response.write_u64(size);
  response.write_u64(0);
  publish_response(segment, response, ResponseKind::value_in_place);
  EXPECT_TRUE(payload_in_place(segment, record_of(segment)).empty()) << "an empty payload at the very end is fine";
}

TEST(DecodeOutput, ReusesASpareBufferTheOutputFillsAtLeastHalfOf) {
  const std::string text(1000, 'o');
  const auto payload = std::as_bytes(std::span(text));
  std::vector<std::uint8_t> spare(1200, 1);
  const auto* allocation = spare.data();
  auto out = decode_output<std::vector<std::uint8_t>>(payload, std::move(spare));
  EXPECT_EQ(out.data(), allocation) << "decoded into the spare's allocation";
  EXPECT_EQ(out.size(), 1000u);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](auto b) { return b == 'o'; }));

  std::string big(4000, 's');
  const auto* big_allocation = big.data();
  auto small = decode_output<std::string>(payload.first(10), std::move(big));
  EXPECT_NE(small.data(), big_allocation) << "a small output must not keep a large allocation";
  EXPECT_EQ(small, std::string(10, 'o'));

  // The boundary: an output of exactly half the spare's capacity still reuses it; one byte less
  // does not.
  std::vector<std::uint8_t> half(2000);
  const auto capacity = half.capacity();
  const auto* half_allocation = half.data();
  const std::vector<std::uint8_t> source(capacity, 'h');
  const auto source_bytes = std::as_bytes(std::span(source));
  EXPECT_EQ(decode_output<std::vector<std::uint8_t>>(source_bytes.first(capacity / 2), std::move(half)).data(),
            half_allocation);
  std::vector<std::uint8_t> under(2000);
  const auto* under_allocation = under.data();
  const auto just_under_half = under.capacity() / 2 - 1;
  EXPECT_NE(decode_output<std::vector<std::uint8_t>>(source_bytes.first(just_under_half), std::move(under)).data(),
            under_allocation);

  std::string tight(10, 't');
  auto grown = decode_output<std::string>(payload, std::move(tight));
  EXPECT_EQ(grown, text) << "too small a spare: a new buffer";
}

TEST(Codec, MalformedMessagePackIsAnExceptionNotACrash) {
  const auto data = bytes_of({0xdc, 0xff, 0xff});  // array16 of 65535 elements, none present
  EXPECT_THROW((void)Codec<nlohmann::json>::decode(data), nlohmann::json::exception);
}

TEST(WorkerArgument, RoundTrips) {
  const auto arg = make_worker_argument(1, 3, 4242);
  const auto parsed = parse_worker_argument(arg);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->valid);
  EXPECT_EQ(parsed->version, 1u);
  EXPECT_EQ(parsed->fd, 3);
  EXPECT_EQ(parsed->parent_pid, 4242);
}

TEST(WorkerArgument, PoolWorkerArgumentCarriesTheControlSegmentAndSlot) {
  const auto parsed = parse_worker_argument(make_worker_argument(1, 3, 77, 4, 9));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->valid);
  EXPECT_EQ(parsed->control_fd, 4);
  EXPECT_EQ(parsed->slot, 9u);
  EXPECT_EQ(parse_worker_argument(make_worker_argument(1, 3, 77))->control_fd, -1);
}

TEST(WorkerArgument, OtherArgumentsAreNotWorkerArguments) {
  EXPECT_FALSE(parse_worker_argument("--gtest_filter=*").has_value());
  EXPECT_FALSE(parse_worker_argument("").has_value());
}

TEST(WorkerArgument, MalformedWorkerArgumentIsInvalid) {
  for (const char* bad : {"--isolate-worker=", "--isolate-worker=1:3", "--isolate-worker=1:x:5",
                          "--isolate-worker=1:3:5:6", "--isolate-worker=1:3:5:6:7:8", "--isolate-worker=1:-3:5",
                          "--isolate-worker=1:3:0", "--isolate-worker=1:3:5:", "--isolate-worker=1:3:5:-4:1"}) {
    const auto parsed = parse_worker_argument(bad);
    ASSERT_TRUE(parsed.has_value()) << bad;
    EXPECT_FALSE(parsed->valid) << bad;
  }
}

}  // namespace
}  // namespace isolate::detail
