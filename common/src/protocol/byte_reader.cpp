// byte_reader.cpp — ByteReader: bounds-checked reads.
#include "protocol/byte_reader.hpp"

#include <isolate/errors.hpp>

#include <cstring>

namespace isolate::detail {

void ByteReader::need(std::uint64_t n) const {
  if (n > remaining()) {
    throw IsolateError("isolate: truncated record in shared memory (needed " + std::to_string(n) + " more bytes, " +
                       std::to_string(remaining()) + " left)");
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

}  // namespace isolate::detail
