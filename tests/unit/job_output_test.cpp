// Unit tests of how a worker writes a job's output (no processes: the job's registry entry runs
// against a segment here): a view output into the job's input stays in place, any other output
// is copied into the response record.
#include <isolate/detail/job_registry.hpp>
#include <isolate/detail/wire_format.hpp>
#include <isolate/job.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>

#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using detail::ByteReader;
using detail::ByteWriter;
using detail::SharedMemory;

/// Writes `input` as a request for `job` into a fresh segment, runs the job's registry entry on
/// it as the worker does, and publishes the response; returns the segment.
SharedMemory serve(std::string_view job, std::string_view input, bool* in_place,
                   std::function<void(SharedMemory&)> before_run = {}) {
  auto segment = detail::make_request_segment(input.size() + 64);
  std::span<const std::byte> payload;
  {
    ByteWriter writer(segment);
    writer.write_string(job);
    writer.write_string("bytes");
    detail::write_payload<std::string_view>(input, writer);
    detail::publish(segment, writer, detail::SegmentState::requested);
    auto record = detail::record_of(segment);
    payload = record.subspan(record.size() - input.size());
  }
  auto entry = detail::find_job(job);
  EXPECT_NE(entry, nullptr) << job;
  if (before_run) before_run(segment);
  JobContext context;
  ByteWriter output(segment);
  *in_place = entry->run(payload, output, context);
  detail::publish_response(segment, output,
                           *in_place ? detail::ResponseKind::value_in_place : detail::ResponseKind::value);
  return segment;
}

std::string_view text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// The payload of a response that copied its value into the record.
std::string_view copied_output(SharedMemory& segment) {
  ByteReader reader(detail::record_of(segment));
  return text_of(reader.read_bytes(reader.read_u64()));
}

TEST(JobOutput, AViewOfTheInputIsSentBackInPlace) {
  bool in_place = false;
  auto segment = serve(view_tail.name(), "xin place", &in_place);
  ASSERT_TRUE(in_place);
  EXPECT_EQ(text_of(detail::payload_in_place(segment, detail::record_of(segment))), "in place");
}

TEST(JobOutput, AViewOfOtherMemoryIsCopiedIntoTheRecord) {
  bool in_place = true;
  auto segment = serve(view_static.name(), "ignored", &in_place);
  ASSERT_FALSE(in_place);
  EXPECT_EQ(copied_output(segment), "static bytes");
}

TEST(JobOutput, AViewOfAnOwnedInputIsCopiedBeforeTheInputGoes) {
  bool in_place = true;
  auto segment = serve(owned_head.name(), "headless", &in_place);
  ASSERT_FALSE(in_place);
  EXPECT_EQ(copied_output(segment), "hea");
}

// A view into the segment where the response record goes (here: the request's job name) cannot
// stay in place, and the record written over it must not corrupt it: it is copied out first.
TEST(JobOutput, AViewUnderTheResponseRecordIsCopiedOutBeforeTheRecordOverwritesIt) {
  bool in_place = true;
  auto segment = serve(returns_preset.name(), "input", &in_place, [](SharedMemory& s) {
    const auto record = detail::record_of(s);
    preset_output = std::string_view(reinterpret_cast<const char*>(record.data()) + 4, 9);  // "test.retu"
  });
  preset_output = {};
  ASSERT_FALSE(in_place);
  EXPECT_EQ(copied_output(segment), "test.retu");
}

TEST(JobOutput, AnEmptyViewIsAnEmptyCopiedPayload) {
  bool in_place = true;
  auto segment = serve(view_tail.name(), "", &in_place);
  ASSERT_FALSE(in_place);
  EXPECT_EQ(copied_output(segment), "");
}

}  // namespace
}  // namespace isolate::test
