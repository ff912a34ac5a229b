// Unit tests of the protocol (src/protocol): a channel's request and response records and
// states, the pool's handshake words, the bounds-checked reader, the byte writer, and the worker
// argument. No processes: both sides run here. Bad or truncated data must be an IsolateError,
// never a crash.
#include <isolate/detail/codec.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/byte_reader.hpp"
#include "protocol/channel.hpp"
#include "protocol/layout.hpp"
#include "protocol/pool_control.hpp"
#include "protocol/sandbox_filter.hpp"
#include "protocol/worker_argument.hpp"
#include "vector_bytes.hpp"

namespace isolate::detail {
namespace {

using test::VectorBytes;

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (auto v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

std::string_view text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Writes a request whose input is `input` (raw bytes) into `channel`.
void request(Channel& channel, std::string_view job, std::string_view input) {
  channel.write_request(job, "bytes", [input](ByteWriter& writer) { writer.write(input.data(), input.size()); });
}

/// The worker's side of `channel`: a second mapping of the same memfd, as a worker adopts it.
Channel worker_side(Channel& channel) { return Channel::adopt(::dup(channel.fd())); }

/// The worker's side of `channel`, attached to its request as a starting worker attaches.
Channel attached_worker(Channel& channel) {
  auto worker = worker_side(channel);
  channel.allow_attach();
  EXPECT_TRUE(worker.attach()) << "the worker could not attach to the request";
  return worker;
}

// A worker holds the fds of its channel, its control segment and the pool's doorbell: truncating
// any must fail, or the parent's next touch of its mapping would be a SIGBUS.
TEST(Segments, ChannelControlAndDoorbellSegmentsCannotBeTruncatedByAnyHolder) {
  auto channel = Channel::create(100);
  auto control = PoolControl::create(2);
  for (const int fd : {channel.fd(), control.control_fd(0), control.control_fd(1), control.bell_fd()}) {
    errno = 0;
    EXPECT_EQ(::ftruncate(fd, 0), -1);
    EXPECT_EQ(errno, EPERM);
    // Nor can a holder seal it against growth or writes (F_SEAL_SEAL).
    errno = 0;
    EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), -1);
    EXPECT_EQ(errno, EPERM);
  }
}

TEST(Channel, ARequestReachesTheWorkerWhole) {
  auto parent = Channel::create(16);
  request(parent, "the job", "the input");
  EXPECT_EQ(parent.state(), ChannelState::requested);
  auto worker = worker_side(parent);
  parent.allow_attach();
  ASSERT_TRUE(worker.attach());
  EXPECT_EQ(parent.state(), ChannelState::attached);
  const auto got = worker.read_request();
  EXPECT_EQ(got.job, "the job");
  EXPECT_EQ(got.input_tag, "bytes");
  EXPECT_EQ(text_of(got.input), "the input");
  EXPECT_FALSE(worker.attach()) << "a channel is attached to once";
}

TEST(Channel, AFileRequestNamesTheWorkersFdAndTheLimitAndCarriesNoBytes) {
  auto parent = Channel::create(16);
  parent.write_request("the job", "bytes", InputFileSource{4, 12345});
  auto worker = attached_worker(parent);
  const auto got = worker.read_request();
  EXPECT_EQ(got.job, "the job");
  EXPECT_EQ(got.input_tag, "bytes");
  ASSERT_TRUE(got.file.has_value());
  EXPECT_EQ(got.file->fd, 4);
  EXPECT_EQ(got.file->max_bytes, 12345u);
  EXPECT_TRUE(got.input.empty());
  // A bytes request written next over the same channel (as a pool's) carries no file.
  auto again = Channel::create(16);
  request(again, "job", "input");
  EXPECT_FALSE(attached_worker(again).read_request().file.has_value());
}

TEST(Channel, ARequestWithAnUnknownInputKindIsRefused) {
  auto parent = Channel::create(16);
  request(parent, "job", "input");
  auto worker = attached_worker(parent);
  // The kind byte follows the two strings: u32 3 "job", u32 5 "bytes".
  auto* kind = parent.memory().data() + sizeof(SegmentHeader) + 4 + 3 + 4 + 5;
  *kind = std::byte{9};
  EXPECT_THROW((void)worker.read_request(), IsolateError);
}

TEST(Channel, AChannelThatIsNotOneIsRefused) {
  auto memory = SharedMemory::create(4096);
  EXPECT_THROW((void)Channel::adopt(::dup(memory.fd())), IsolateError) << "no header";
  auto small = SharedMemory::create(16);
  EXPECT_THROW((void)Channel::adopt(::dup(small.fd())), IsolateError) << "smaller than a header";
}

TEST(Channel, ACopiedValueComesBackWithItsSize) {
  auto parent = Channel::create(16);
  request(parent, "job", "input");
  auto worker = attached_worker(parent);
  worker.respond([](ByteWriter& out) {
    write_payload<std::string_view>("output", out);
    return false;
  });
  ASSERT_EQ(parent.state(), ChannelState::responded);
  EXPECT_EQ(parent.claimed_payload_size(), 8u + 6u) << "length prefix + bytes";
  const auto response = parent.read_response();
  EXPECT_FALSE(response.is_error);
  EXPECT_EQ(text_of(response.payload), "output");
}

TEST(Channel, AViewOfTheInputComesBackInPlace) {
  auto parent = Channel::create(64);
  request(parent, "job", "xin place payload");
  auto worker = attached_worker(parent);
  const auto input = worker.read_request().input;
  worker.respond([&](ByteWriter& out) { return out.refer(input.subspan(1)); });
  EXPECT_EQ(parent.claimed_payload_size(), 16u);
  const auto response = parent.read_response();
  EXPECT_EQ(text_of(response.payload), "in place payload");
  EXPECT_EQ(response.payload.data() - parent.memory().data(), input.data() + 1 - worker.memory().data())
      << "the same bytes of the segment, not a copy";
}

TEST(Channel, AnErrorComesBackAsItsTypeAndMessage) {
  auto parent = Channel::create(16);
  request(parent, "job", "input");
  auto worker = attached_worker(parent);
  worker.respond_error("std::out_of_range", "index 7");
  const auto response = parent.read_response();
  EXPECT_TRUE(response.is_error);
  EXPECT_EQ(response.error_type, "std::out_of_range");
  EXPECT_EQ(response.error_message, "index 7");
}

// Either side may grow the channel; the other maps it whole before it reads.
TEST(Channel, ARequestOrResponseLargerThanTheChannelGrowsIt) {
  auto parent = Channel::create(0);
  const std::string big(3u << 20, 'b');
  request(parent, "job", big);
  auto worker = attached_worker(parent);
  EXPECT_EQ(text_of(worker.read_request().input), big);
  const std::string bigger(5u << 20, 'B');
  worker.respond([&](ByteWriter& out) {
    write_payload<std::string_view>(bigger, out);
    return false;
  });
  EXPECT_EQ(text_of(parent.read_response().payload), bigger);
}

TEST(Channel, AFailedOutputWriterPublishesNothing) {
  auto parent = Channel::create(16);
  request(parent, "job", "input");
  auto worker = attached_worker(parent);
  EXPECT_THROW(worker.respond([](ByteWriter&) -> bool { throw std::runtime_error("job failed"); }), std::runtime_error);
  EXPECT_EQ(parent.state(), ChannelState::attached);
}

TEST(Channel, ARecordRunningPastTheSegmentIsAnIsolateError) {
  auto parent = Channel::create(16);
  auto& header = header_of(parent.memory());
  header.record_size = parent.memory().size();
  header.response_kind = static_cast<std::uint32_t>(ResponseKind::value);
  EXPECT_THROW((void)parent.read_response(), IsolateError);
}

TEST(Channel, ABadMagicOrVersionIsAnIsolateError) {
  for (const bool magic : {true, false}) {
    auto parent = Channel::create(16);
    request(parent, "job", "x");
    (magic ? header_of(parent.memory()).magic : header_of(parent.memory()).version) = 0;
    EXPECT_THROW((void)parent.read_response(), IsolateError);
  }
}

TEST(Channel, AnUnknownResponseKindIsAnIsolateError) {
  auto parent = Channel::create(16);
  header_of(parent.memory()).response_kind = 9;
  EXPECT_THROW((void)parent.read_response(), IsolateError);
}

TEST(Channel, InPlaceOffsetsOutsideTheSegmentOrInsideTheRecordAreIsolateErrors) {
  auto parent = Channel::create(64);
  const auto size = parent.memory().size();
  struct Case {
    std::uint64_t offset;
    std::uint64_t length;
  };
  auto respond_in_place = [&](std::uint64_t offset, std::uint64_t length) {
    auto worker = worker_side(parent);
    worker.respond([&](ByteWriter& out) {
      out.write_u64(offset);
      out.write_u64(length);
      return true;
    });
  };
  for (const auto& c : {Case{size + 1, 0}, Case{kRecordOffset + 64, size}, Case{kRecordOffset, 4},
                        Case{kRecordOffset + 64, ~0ull}, Case{~0ull, 2}}) {
    respond_in_place(c.offset, c.length);
    EXPECT_THROW((void)parent.read_response(), IsolateError) << c.offset << "+" << c.length;
  }
  respond_in_place(size, 0);
  EXPECT_TRUE(parent.read_response().payload.empty()) << "an empty payload at the very end is fine";
}

/// Slot i's side, as its worker adopts it: its control segment and the doorbell.
PoolSlot adopt_slot(const PoolControl& control, std::size_t i) {
  return PoolSlot::adopt(::dup(control.control_fd(i)), ::dup(control.bell_fd()));
}

TEST(PoolControl, ARequestIsSentWaitedForAndAnswered) {
  auto control = PoolControl::create(2);
  auto slot = adopt_slot(control, 1);
  EXPECT_FALSE(control.ready(1));
  const auto bell = control.bell();
  slot.announce_ready();
  EXPECT_TRUE(control.ready(1));
  EXPECT_FALSE(control.ready(0)) << "another slot's words";
  EXPECT_NE(control.bell(), bell) << "ready rings the doorbell";
  control.send(1, 7);
  EXPECT_EQ(slot.wait_request(0, std::chrono::nanoseconds(0), std::chrono::nanoseconds(-1)), 7u);
  EXPECT_FALSE(control.answered(1, 7));
  const auto before = control.bell();
  slot.answer(7);
  EXPECT_TRUE(control.answered(1, 7));
  EXPECT_NE(control.wait_bell(before, std::chrono::nanoseconds(0), std::chrono::nanoseconds(-1)), before);
  EXPECT_EQ(slot.wait_request(7, std::chrono::nanoseconds(0), std::chrono::nanoseconds(0)), 7u)
      << "no new request: the timeout returns the number seen";
  control.reset(1);
  EXPECT_FALSE(control.ready(1)) << "a new worker's words start over";
  EXPECT_FALSE(control.answered(1, 7));
}

TEST(PoolControl, AWorkerAsksToBeReplacedWithAnAnswerAndStillCountsAsReady) {
  auto control = PoolControl::create(2);
  auto slot = adopt_slot(control, 0);
  slot.announce_ready();
  control.send(0, 1);
  slot.answer(1);
  EXPECT_FALSE(control.replacement_asked(0)) << "a plain answer";
  control.send(0, 2);
  slot.answer(2, /*replace_me=*/true);
  EXPECT_TRUE(control.answered(0, 2));
  EXPECT_TRUE(control.replacement_asked(0));
  EXPECT_TRUE(control.ready(0)) << "it served; it only wants no further request";
  EXPECT_FALSE(control.replacement_asked(1)) << "another slot's words";
  control.reset(0);
  EXPECT_FALSE(control.replacement_asked(0)) << "its successor starts over";
}

// Each worker maps its own slot's words and the doorbell, nothing else: no other slot's words
// are in any segment it holds.
TEST(PoolControl, EachSlotsWordsAreInASegmentOfTheirOwnApartFromTheDoorbell) {
  auto control = PoolControl::create(3);
  std::vector<int> fds{control.bell_fd()};
  for (std::size_t i = 0; i < 3; ++i) fds.push_back(control.control_fd(i));
  std::vector<ino_t> files;
  for (const int fd : fds) {
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_LE(static_cast<std::size_t>(st.st_size), std::size_t{4096}) << "one page: one slot's words, or the bell";
    files.push_back(st.st_ino);
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(std::unique(files.begin(), files.end()), files.end()) << "four distinct memory files";
  // What a worker writes through its slot reaches the parent in that slot only.
  auto slot = adopt_slot(control, 2);
  slot.announce_ready();
  control.send(2, 5);
  slot.answer(5, /*replace_me=*/true);
  EXPECT_TRUE(control.answered(2, 5));
  for (const std::size_t other : {0u, 1u}) {
    EXPECT_FALSE(control.ready(other));
    EXPECT_FALSE(control.answered(other, 5));
    EXPECT_FALSE(control.replacement_asked(other));
  }
}

TEST(PoolControl, ASegmentTooSmallForItsWordsIsRefused) {
  auto control = PoolControl::create(1);
  const int small = ::memfd_create("isolate-test-small", MFD_CLOEXEC);
  ASSERT_GE(small, 0);
  ASSERT_EQ(::ftruncate(small, 8), 0);
  EXPECT_THROW((void)PoolSlot::adopt(::dup(small), ::dup(control.bell_fd())), IsolateError) << "a control segment";
  EXPECT_THROW((void)PoolSlot::adopt(::dup(control.control_fd(0)), ::dup(small)), IsolateError) << "a doorbell";
  ::close(small);
}

TEST(ByteReader, ReadsWhatByteWriterWrote) {
  VectorBytes bytes;
  ByteWriter writer(bytes, 0);
  writer.write_string("job");
  writer.write_u64(0x0102030405060708ull);
  writer.write_u8(9);
  ByteReader reader(std::span<const std::byte>(bytes.bytes(), writer.written()));
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

TEST(ByteWriter, GrowsItsTargetForLargeRecordsAndPatchesPlaceholders) {
  VectorBytes bytes;
  std::vector<char> big(1 << 20, 'x');
  ByteWriter writer(bytes, 16);
  const auto at = writer.reserve_u64();
  writer.write(big.data(), big.size());
  writer.patch_u64(at, big.size());
  EXPECT_GE(bytes.length(), 16 + 8 + big.size());
  EXPECT_EQ(writer.written(), 8 + big.size());
  ByteReader reader(std::span<const std::byte>(bytes.bytes() + 16, writer.written()));
  EXPECT_EQ(reader.read_u64(), big.size());
  EXPECT_EQ(std::memcmp(reader.read_bytes(big.size()).data(), big.data(), big.size()), 0);
}

TEST(ByteWriter, TellsTheNextWriterWhereTheUntouchedBytesBegin) {
  VectorBytes bytes;
  bytes.grow_to(4096);
  {
    ByteWriter unknown(bytes, 0);  // nothing known untouched, and nothing grown
    unknown.write_u64(1);
    EXPECT_EQ(unknown.untouched_from(), ByteWriter::kNoneUntouched);
  }
  {
    ByteWriter fresh(bytes, 16, 16);  // untouched past the header: what it writes no longer is
    fresh.write_u64(1);
    EXPECT_EQ(fresh.untouched_from(), 24u);
  }
  ByteWriter grower(bytes, 0);  // nothing known untouched, but what it grows is new
  const std::vector<char> past_the_end(5000, 'y');
  grower.write(past_the_end.data(), past_the_end.size());
  EXPECT_EQ(grower.untouched_from(), 5000u);
}

TEST(ByteWriter, CopiesLargeWritesExactlyIntoUntouchedAndIntoReusedBytes) {
  // A large write into untouched bytes takes two threads (copy_large); into bytes written
  // before, one. Both must land every byte where it belongs.
  VectorBytes bytes;
  const std::size_t n = (std::size_t{36} << 20) + 3;
  std::vector<char> first(n), second(n);
  for (std::size_t i = 0; i < n; ++i) {
    first[i] = static_cast<char>(i * 7 + (i >> 12));
    second[i] = static_cast<char>(i * 13 + (i >> 11));
  }
  ByteWriter into_new(bytes, 8, 8);
  into_new.write(first.data(), n);
  ASSERT_EQ(std::memcmp(bytes.bytes() + 8, first.data(), n), 0);
  ByteWriter into_old(bytes, 8, into_new.untouched_from());
  into_old.write(second.data(), n);
  EXPECT_EQ(std::memcmp(bytes.bytes() + 8, second.data(), n), 0);
}

TEST(ByteWriter, DoesNotReferToBytesOutsideItsTargetOrUnderWhatItWrites) {
  VectorBytes bytes;
  bytes.grow_to(256);
  ByteWriter writer(bytes, 0);
  const std::string elsewhere = "elsewhere";
  EXPECT_FALSE(writer.refer(std::as_bytes(std::span(elsewhere))));
  EXPECT_FALSE(writer.overlaps(std::as_bytes(std::span(elsewhere))));
  // Bytes where the record goes (its first 16 bytes) cannot stay in place.
  const std::span<const std::byte> under(bytes.bytes() + 4, 8);
  EXPECT_FALSE(writer.refer(under));
  EXPECT_TRUE(writer.overlaps(under));
  EXPECT_FALSE(writer.refer({})) << "nothing to refer to";
  EXPECT_EQ(writer.written(), 0u) << "a refused refer() writes nothing";
  EXPECT_TRUE(writer.refer(std::span<const std::byte>(bytes.bytes() + 100, 10)));
  EXPECT_EQ(writer.written(), 16u);
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
  const auto arg = make_worker_argument(3, 4242);
  const auto parsed = parse_worker_argument(arg);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->valid);
  EXPECT_EQ(parsed->version, kWireVersion);
  EXPECT_EQ(parsed->fd, 3);
  EXPECT_EQ(parsed->parent_pid, 4242);
}

TEST(WorkerArgument, PoolWorkerArgumentCarriesItsControlSegmentAndTheDoorbell) {
  const auto parsed = parse_worker_argument(make_worker_argument(3, 77, 4, 9));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->valid);
  EXPECT_EQ(parsed->control_fd, 4);
  EXPECT_EQ(parsed->bell_fd, 9);
  EXPECT_EQ(parse_worker_argument(make_worker_argument(3, 77))->control_fd, -1);
}

TEST(WorkerArgument, OneShotArgumentCarriesItsTreeReadyFdWithLimitsAndSandboxAfterIt) {
  const WorkerSandbox sandbox{.enabled = true, .filter = "program"};
  const WorkerLimits limits{.memory_bytes = 1u << 20, .cpu_ms = 7};
  const auto parsed = parse_worker_argument(make_worker_argument(3, 77, -1, 0, limits, sandbox, 5));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->valid);
  EXPECT_EQ(parsed->tree_ready_fd, 5);
  EXPECT_EQ(parsed->control_fd, -1) << "a one-shot worker";
  EXPECT_EQ(parsed->limits, limits);
  EXPECT_EQ(parsed->sandbox, sandbox);
  EXPECT_EQ(parse_worker_argument(make_worker_argument(3, 77))->tree_ready_fd, -1);
  const auto pool = parse_worker_argument(make_worker_argument(3, 77, 4, 9, {}, {}, 5));
  EXPECT_EQ(pool->tree_ready_fd, -1) << "a pool worker says it through its slot";
  EXPECT_EQ(pool->control_fd, 4);
  const std::string version = std::to_string(kWireVersion);
  for (const auto* bad : {":3:77:", ":3:77:-1", ":3:77:5:", ":3:77:x", ":3:77:4:9:1", ":3:77:4:-1"}) {
    const auto malformed = parse_worker_argument(std::string(kWorkerFlag) + version + bad);
    ASSERT_TRUE(malformed.has_value()) << bad;
    EXPECT_FALSE(malformed->valid) << bad;
  }
}

TEST(WorkerArgument, LimitsTravelWithOneShotAndPoolArguments) {
  const WorkerLimits limits{.memory_bytes = 64u << 20, .cpu_ms = 1500};
  for (const auto& arg : {make_worker_argument(3, 77, -1, 0, limits), make_worker_argument(3, 77, 4, 9, limits)}) {
    const auto parsed = parse_worker_argument(arg);
    ASSERT_TRUE(parsed.has_value()) << arg;
    EXPECT_TRUE(parsed->valid) << arg;
    EXPECT_EQ(parsed->limits, limits) << arg;
  }
  EXPECT_EQ(parse_worker_argument(make_worker_argument(3, 77))->limits, WorkerLimits{});
}

TEST(WorkerArgument, SandboxTravelsWithItsReadablePathsWhateverBytesTheyHold) {
  const WorkerSandbox sandbox{.enabled = true,
                              .network = true,
                              .readable = {"/etc/hosts", "/tmp/a:b;c d\xff\n"},
                              .filter = std::string("\x00;F:\x01\xff", 6)};
  for (const auto& arg :
       {make_worker_argument(3, 77, -1, 0, {}, sandbox), make_worker_argument(3, 77, 4, 9, {.cpu_ms = 5}, sandbox)}) {
    const auto parsed = parse_worker_argument(arg);
    ASSERT_TRUE(parsed.has_value()) << arg;
    EXPECT_TRUE(parsed->valid) << arg;
    EXPECT_EQ(parsed->sandbox, sandbox) << arg;
  }
  const WorkerSandbox closed_sandbox{.enabled = true, .filter = "program"};
  const auto closed = parse_worker_argument(make_worker_argument(3, 77, -1, 0, {}, closed_sandbox));
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->valid);
  EXPECT_EQ(closed->sandbox, closed_sandbox);
  EXPECT_EQ(parse_worker_argument(make_worker_argument(3, 77))->sandbox, WorkerSandbox{});
}

TEST(SandboxFilter, RoundTripsAndRefusesWhatItCannotLoad) {
  CompiledFilter filter;
  filter.killed_numbers.assign(kSandboxKilledCalls.size(), -1);
  filter.killed_numbers[1] = 57;
  filter.clone_number = 56;
  filter.program = std::string(3 * kFilterInstructionBytes, '\x06');
  const auto decoded = decode_filter(encode_filter(filter));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->killed_numbers, filter.killed_numbers);
  EXPECT_EQ(decoded->clone_number, 56);
  EXPECT_EQ(decoded->program, filter.program);
  const auto bytes = encode_filter(filter);
  EXPECT_FALSE(decode_filter(bytes.substr(0, bytes.size() - 1)).has_value()) << "a truncated instruction";
  EXPECT_FALSE(decode_filter(bytes.substr(0, bytes.size() - filter.program.size())).has_value()) << "no program";
  EXPECT_FALSE(decode_filter(bytes.substr(0, 10)).has_value());
  filter.killed_numbers.pop_back();
  EXPECT_FALSE(decode_filter(encode_filter(filter)).has_value()) << "another table";
}

TEST(WorkerArgument, OtherArgumentsAreNotWorkerArguments) {
  EXPECT_FALSE(parse_worker_argument("--gtest_filter=*").has_value());
  EXPECT_FALSE(parse_worker_argument("").has_value());
}

TEST(WorkerArgument, MalformedWorkerArgumentIsInvalid) {
  for (const char* bad : {"--isolate-worker=",
                          "--isolate-worker=1:3",
                          "--isolate-worker=1:x:5",
                          "--isolate-worker=1:3:5:6:",  // (1:3:5:6 is a one-shot tree-ready fd since version 7)
                          "--isolate-worker=1:3:5:-6",
                          "--isolate-worker=1:3:5:6:7:8",
                          "--isolate-worker=1:-3:5",
                          "--isolate-worker=1:3:0",
                          "--isolate-worker=1:3:5:",
                          "--isolate-worker=1:3:5:-4:1",
                          "--isolate-worker=1:3:5;",
                          "--isolate-worker=1:3:5;7",
                          "--isolate-worker=1:3:5;7:",
                          "--isolate-worker=1:3:5;7:8:9",
                          "--isolate-worker=1:3:5;x:8",
                          "--isolate-worker=1:3:5:;7:8",
                          "--isolate-worker=1:3:5;7:8;",
                          "--isolate-worker=1:3:5;7:8;S",
                          "--isolate-worker=1:3:5;7:8;S2",
                          "--isolate-worker=1:3:5;7:8;S0:",
                          "--isolate-worker=1:3:5;7:8;S0:2",
                          "--isolate-worker=1:3:5;7:8;S0:zz",
                          "--isolate-worker=1:3:5;7:8;S0:2f00",
                          "--isolate-worker=1:3:5;7:8;S0::2f",
                          "--isolate-worker=1:3:5;7:8;S0;S1"}) {
    const auto parsed = parse_worker_argument(bad);
    ASSERT_TRUE(parsed.has_value()) << bad;
    EXPECT_FALSE(parsed->valid) << bad;
  }
}

}  // namespace
}  // namespace isolate::detail
