// Fuzz target: the parent reading a response, whatever bytes a worker left in its channel (a
// worker may die mid-write, be buggy, or hostile). Reading must end in a value, the job's error,
// or an IsolateError; decoding the value must end in the value or a nlohmann::json exception:
// never a crash or a read outside the mapping.
//
// Input: u32 response kind, u64 record size, then the record's bytes (the channel is sized to
// hold them; the record size is taken as is, so it may lie).
#include <isolate/detail/codec.hpp>
#include <isolate/errors.hpp>

#include <cstring>

#include "fuzz_target.hpp"
#include "protocol/channel.hpp"
#include "protocol/layout.hpp"

namespace {

using isolate::detail::Channel;

std::string input_of(std::uint32_t kind, std::uint64_t record_size, const std::string& record) {
  std::string input(12, '\0');
  std::memcpy(input.data(), &kind, 4);
  std::memcpy(input.data() + 4, &record_size, 8);
  return input + record;
}

std::string u64(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string u32(std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 12) return 0;
  std::uint32_t kind = 0;
  std::uint64_t record_size = 0;
  std::memcpy(&kind, data, 4);
  std::memcpy(&record_size, data + 4, 8);
  auto channel = Channel::create(size);
  auto& memory = channel.memory();
  std::memcpy(memory.data() + isolate::detail::kRecordOffset, data + 12, size - 12);
  auto& header = isolate::detail::header_of(memory);
  header.response_kind = kind;
  header.record_size = record_size;
  try {
    const auto response = channel.read_response();
    if (!response.is_error) {
      (void)isolate::detail::Codec<std::string>::decode(response.payload);
      (void)isolate::detail::Codec<nlohmann::json>::decode(response.payload);
    }
  } catch (const isolate::IsolateError&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  const std::string payload = "\x82\xa1\x61\x01\xa1\x62\x92\xc3\xc0";  // MessagePack {"a":1,"b":[true,null]}
  const std::string value = u64(payload.size()) + payload;
  const std::string error = u32(16) + "std::out_of_range" + u32(5) + "index";
  return {
      input_of(1, value.size(), value),                 // a value
      input_of(3, 16, u64(64 + 16) + u64(4) + "tail"),  // a value in place
      input_of(2, error.size(), error),                 // an error
      input_of(1, 1u << 30, value),                     // a record size that lies
      input_of(3, 16, u64(~0ull) + u64(8)),             // an offset outside
      input_of(9, 0, ""),                               // an unknown kind
  };
}
