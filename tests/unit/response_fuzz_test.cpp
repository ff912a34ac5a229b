// Randomized robustness test of the parent's side of the wire: a worker may die mid-write or be
// buggy, so whatever bytes a response segment holds, reading it must end in a delivered value, a
// rebuilt job exception, or a thrown IsolateError (nlohmann::json::exception for a MessagePack
// payload that does not decode): never a crash, a hang or a read outside the mapping (the
// sanitizer run of this suite checks the last). Deterministic: fixed seeds.
#include <isolate/detail/codec.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "posix/response.hpp"
#include "protocol/channel.hpp"
#include "protocol/layout.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using detail::Channel;
using detail::ResponseKind;

/// A response channel with random contents, mostly well-formed in its header so that the
/// record's parsers are reached too.
Channel random_response(std::mt19937_64& random) {
  const std::size_t record_hint = random() % 2 == 0 ? random() % 64 : random() % 8192;
  auto channel = Channel::create(record_hint);
  auto& segment = channel.memory();
  auto* record = segment.data() + detail::kRecordOffset;
  const std::size_t room = segment.size() - detail::kRecordOffset;
  for (std::size_t i = 0; i < room; ++i) record[i] = static_cast<std::byte>(random());
  auto& header = detail::header_of(segment);
  if (random() % 10 == 0) header.magic = static_cast<std::uint32_t>(random());
  if (random() % 10 == 0) header.version = static_cast<std::uint32_t>(random());
  header.record_size = random() % 8 == 0 ? random() : random() % (room + 1);
  header.response_kind = static_cast<std::uint32_t>(random() % 5);  // 0 and 4 are unknown kinds
  // Often a plausible first field: a length or an offset near the truth, so that reads cut off
  // at the edges are tried, not just absurd sizes.
  if (random() % 2 == 0 && room >= 16) {
    const std::uint64_t near = random() % (room + 32);
    std::memcpy(record, &near, sizeof near);
    const std::uint64_t offset = detail::kRecordOffset + random() % (room + 32);
    if (header.response_kind == static_cast<std::uint32_t>(ResponseKind::value_in_place)) {
      std::memcpy(record, &offset, sizeof offset);
      std::memcpy(record + 8, &near, sizeof near);
    }
  }
  return channel;
}

template <class T>
void read_responses(std::uint64_t seed, int rounds) {
  std::mt19937_64 random(seed);
  int delivered = 0, failed = 0, refused = 0;
  for (int i = 0; i < rounds; ++i) {
    auto channel = random_response(random);
    detail::ProcessLaunch::Completion completion{
        [] { return true; },
        [&](std::span<const std::byte> payload, const detail::ProcessLaunch::Decoded& decoded) {
          (void)detail::decode_output<T>(payload);
          decoded();
          ++delivered;
        },
        [&](std::exception_ptr) { ++failed; },
    };
    try {
      detail::complete_from_response(
          channel, completion, [] {}, Limits{});
    } catch (const IsolateError&) {
      ++refused;
    } catch (const nlohmann::json::exception&) {
      ++refused;  // a MessagePack payload that does not decode (or not to T)
    }
  }
  EXPECT_EQ(delivered + failed + refused, rounds);
  EXPECT_GT(refused, 0) << "the generator never produced bad data";
  EXPECT_GT(delivered + failed, 0) << "the generator never produced a readable response";
}

TEST(ResponseFuzz, RandomBytesResponsesAreReadOrRefusedNeverACrash) { read_responses<std::string>(1, 20000); }

TEST(ResponseFuzz, RandomJsonResponsesAreReadOrRefusedNeverACrash) { read_responses<nlohmann::json>(2, 20000); }

TEST(ResponseFuzz, RandomTypedResponsesAreReadOrRefusedNeverACrash) { read_responses<Point>(3, 20000); }

}  // namespace
}  // namespace isolate::test
