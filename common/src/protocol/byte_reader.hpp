// byte_reader.hpp — reading a record whose every length is checked (internal to the protocol).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace isolate::detail {

/// Reads a record, checking every length against what is there. Throws IsolateError on
/// truncated or inconsistent data, never reads outside `bytes`.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

  std::uint8_t read_u8();
  std::uint32_t read_u32();
  std::uint64_t read_u64();
  std::string read_string();  // u32 length + bytes
  std::span<const std::byte> read_bytes(std::uint64_t n);
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

 private:
  void need(std::uint64_t n) const;
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace isolate::detail
