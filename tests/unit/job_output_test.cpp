// Unit tests of how a worker writes a job's output (no processes: the job's registry entry runs
// against a segment here): a view output into the job's input stays in place, any other output
// is copied into the response record.
#include <isolate/detail/job_registry.hpp>
#include <isolate/job.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <functional>
#include <string>
#include <string_view>

#include "protocol/channel.hpp"
#include "protocol/layout.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using detail::Channel;

/// Writes `input` as a request for `job` into a fresh channel, runs the job's registry entry on
/// it as the worker does, and reads the response as the parent does. `in_place` says whether the
/// worker recorded its output in place; returns the payload as text.
std::string serve(std::string_view job, std::string_view input, bool* in_place,
                  std::function<void(Channel&)> before_run = {}) {
  auto parent = Channel::create(input.size() + 64);
  parent.write_request(job, "bytes", [&](detail::ByteWriter& w) { detail::Codec<std::string_view>::encode(input, w); });
  auto worker = Channel::adopt(::dup(parent.fd()));
  const auto request = worker.read_request();
  auto entry = detail::find_job(job);
  EXPECT_NE(entry, nullptr) << job;
  if (before_run) before_run(worker);
  JobContext context;
  worker.respond([&](detail::ByteWriter& output) { return *in_place = entry->run(request.input, output, context); });
  const auto payload = parent.read_response().payload;
  return {reinterpret_cast<const char*>(payload.data()), payload.size()};
}

TEST(JobOutput, AViewOfTheInputIsSentBackInPlace) {
  bool in_place = false;
  EXPECT_EQ(serve(view_tail.name(), "xin place", &in_place), "in place");
  EXPECT_TRUE(in_place);
}

TEST(JobOutput, AViewOfOtherMemoryIsCopiedIntoTheRecord) {
  bool in_place = true;
  EXPECT_EQ(serve(view_static.name(), "ignored", &in_place), "static bytes");
  EXPECT_FALSE(in_place);
}

TEST(JobOutput, AViewOfAnOwnedInputIsCopiedBeforeTheInputGoes) {
  bool in_place = true;
  EXPECT_EQ(serve(owned_head.name(), "headless", &in_place), "hea");
  EXPECT_FALSE(in_place);
}

// A view into the segment where the response record goes (here: the request's job name) cannot
// stay in place, and the record written over it must not corrupt it: it is copied out first.
TEST(JobOutput, AViewUnderTheResponseRecordIsCopiedOutBeforeTheRecordOverwritesIt) {
  bool in_place = true;
  const auto output = serve(returns_preset.name(), "input", &in_place, [](Channel& worker) {
    const auto* record = reinterpret_cast<const char*>(worker.memory().data() + detail::kRecordOffset);
    preset_output = std::string_view(record + 4, 9);  // "test.retu": the job name, after its length
  });
  preset_output = {};
  EXPECT_EQ(output, "test.retu");
  EXPECT_FALSE(in_place);
}

TEST(JobOutput, AnEmptyViewIsAnEmptyCopiedPayload) {
  bool in_place = true;
  EXPECT_EQ(serve(view_tail.name(), "", &in_place), "");
  EXPECT_FALSE(in_place);
}

}  // namespace
}  // namespace isolate::test
