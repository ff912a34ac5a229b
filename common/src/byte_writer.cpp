// byte_writer.cpp — ByteWriter: appending with geometric growth.
#include <isolate/detail/byte_writer.hpp>
#include <isolate/detail/fresh_memory.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace isolate::detail {
namespace {

constexpr std::size_t kInPlaceRecord = 2 * sizeof(std::uint64_t);

std::uintptr_t address(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

ByteWriter::ByteWriter(WritableBytes& target, std::size_t start, std::size_t untouched_from) noexcept
    : target_(target), start_(start), offset_(start), untouched_from_(untouched_from) {}

std::byte* ByteWriter::extend(std::size_t n) {
  const std::size_t need = offset_ + n;
  if (need < offset_) throw std::length_error("isolate: record too large");
  if (need > target_.length()) {
    std::size_t grown = std::max<std::size_t>(target_.length(), 4096);
    while (grown < need) grown = grown > std::numeric_limits<std::size_t>::max() / 2 ? need : grown * 2;
    untouched_from_ = std::min(untouched_from_, target_.length());  // the bytes grown are new
    target_.grow_to(grown);
    prepare_fresh_memory(target_.bytes() + offset_, n);  // new pages: fault them in at once
  }
  std::byte* at = target_.bytes() + offset_;
  offset_ = need;
  return at;
}

void ByteWriter::write(const void* bytes, std::size_t n) {
  if (n == 0) return;
  const std::size_t from = offset_;
  std::byte* at = extend(n);
  if (n >= kFreshMemoryThreshold && from + n > untouched_from_) {
    copy_large(at, bytes, n);
  } else {
    std::memcpy(at, bytes, n);
  }
}

void ByteWriter::write_string(std::string_view s) {
  if (s.size() > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("isolate: string too long");
  write_u32(static_cast<std::uint32_t>(s.size()));
  write(s.data(), s.size());
}

std::size_t ByteWriter::untouched_from() const noexcept {
  return untouched_from_ == kNoneUntouched ? kNoneUntouched : std::max(untouched_from_, offset_);
}

std::size_t ByteWriter::reserve_u64() {
  const std::size_t at = offset_;
  write_u64(0);
  return at;
}

void ByteWriter::patch_u64(std::size_t at, std::uint64_t v) noexcept {
  std::memcpy(target_.bytes() + at, &v, sizeof v);
}

bool ByteWriter::overlaps(std::span<const std::byte> bytes) noexcept {
  if (bytes.empty() || target_.length() == 0) return false;
  const auto first = address(target_.bytes());
  return address(bytes.data()) < first + target_.length() && address(bytes.data()) + bytes.size() > first;
}

bool ByteWriter::refer(std::span<const std::byte> bytes) {
  const std::size_t length = target_.length();
  if (bytes.empty() || length < offset_ + kInPlaceRecord) return false;
  const auto first = address(target_.bytes());
  const auto at = address(bytes.data());
  if (at < first + offset_ + kInPlaceRecord || at > first + length || bytes.size() > first + length - at) {
    return false;
  }
  write_u64(at - first);
  write_u64(bytes.size());
  return true;
}

}  // namespace isolate::detail
