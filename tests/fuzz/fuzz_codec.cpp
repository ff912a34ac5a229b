// Fuzz target: the Codec round trip. Whatever bytes decode as MessagePack to a JSON value must
// encode and decode again to the same value (decode(encode(x)) == x); raw bytes (std::string,
// std::vector<std::uint8_t>) round-trip byte for byte.
#include <isolate/detail/codec.hpp>

#include <cstdlib>
#include <span>
#include <vector>

#include "fuzz_target.hpp"
#include "vector_bytes.hpp"

namespace {

template <class T>
T round_trip(const T& value) {
  isolate::test::VectorBytes bytes;
  isolate::detail::ByteWriter writer(bytes, 0);
  isolate::detail::Codec<T>::encode(value, writer);
  return isolate::detail::Codec<T>::decode(std::span<const std::byte>(bytes.bytes(), writer.written()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = std::as_bytes(std::span(data, size));
  const auto text = isolate::detail::Codec<std::string>::decode(input);
  if (round_trip(text) != text) std::abort();
  const auto bytes = isolate::detail::Codec<std::vector<std::uint8_t>>::decode(input);
  if (round_trip(bytes) != bytes) std::abort();
  nlohmann::json value;
  try {
    value = isolate::detail::Codec<nlohmann::json>::decode(input);
  } catch (const nlohmann::json::exception&) {
    return 0;  // not MessagePack
  }
  // NaN is the one JSON number not equal to itself: compare the encodings instead.
  const auto again = round_trip(value);
  if (again != value && nlohmann::json::to_msgpack(again) != nlohmann::json::to_msgpack(value)) std::abort();
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "\x82\xa1\x61\x01\xa1\x62\x92\xc3\xc0",  // {"a":1,"b":[true,null]}
      "\xcb\x40\x09\x21\xfb\x54\x44\x2d\x18",  // 3.141592653589793
      "\xcf\xff\xff\xff\xff\xff\xff\xff\xff",  // the largest unsigned 64-bit integer
      "\xc4\x03\x01\x02\x03",                  // binary
      "raw bytes that are not MessagePack",
  };
}
