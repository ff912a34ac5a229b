// Fuzz target: a worker reading its request, whatever bytes the channel holds (a buggy parent of
// another version, a corrupted channel). Reading must end in a request or an IsolateError, and
// decoding its input in a value or a nlohmann::json exception: never a crash.
//
// Input: the record's bytes (job string, tag string, u64 size + payload, when well formed).
#include <isolate/detail/codec.hpp>
#include <isolate/errors.hpp>

#include <cstring>

#include "fuzz_target.hpp"
#include "protocol/channel.hpp"
#include "protocol/layout.hpp"

namespace {

std::string u64(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string str(const std::string& s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto channel = isolate::detail::Channel::create(size);
  auto& memory = channel.memory();
  if (size > 0) std::memcpy(memory.data() + isolate::detail::kRecordOffset, data, size);
  isolate::detail::header_of(memory).record_size = size;
  try {
    const auto request = channel.read_request();
    if (request.input_tag == "msgpack") (void)isolate::detail::Codec<nlohmann::json>::decode(request.input);
  } catch (const isolate::IsolateError&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  const std::string json = "\x92\x01\xa3\x74\x77\x6f";  // MessagePack [1,"two"]
  return {
      str("test.echo") + str("bytes") + u64(5) + "hello",
      str("test.echo-json") + str("msgpack") + u64(json.size()) + json,
      str("job") + str("bytes") + u64(1000) + "short",  // a payload that lies
      str("job"),                                       // cut short
  };
}
