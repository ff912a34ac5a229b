// byte_writer.hpp — appending a record to growable bytes (internal; reachable because Codec and
// Job, which are templates, encode payloads through it).
//
// A ByteWriter appends to WritableBytes: in the library, a shared-memory channel (the request
// the parent writes, the response a worker writes); in tests, plain memory. It knows nothing of
// what a record means: that is the protocol's business (src/protocol).
#pragma once

#include <isolate/export.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace isolate::detail {

/// Bytes a ByteWriter appends to. Growing keeps the contents (bytes past the old size read as
/// zero) and may move them: data() is valid until the next grow_to().
class ISOLATE_EXPORT WritableBytes {
 public:
  [[nodiscard]] virtual std::byte* bytes() noexcept = 0;
  [[nodiscard]] virtual std::size_t length() const noexcept = 0;
  /// Makes length() at least `size`. Throws IsolateError (or std::bad_alloc) if it cannot.
  virtual void grow_to(std::size_t size) = 0;

 protected:
  WritableBytes() = default;
  WritableBytes(const WritableBytes&) = default;
  WritableBytes& operator=(const WritableBytes&) = default;
  ~WritableBytes() = default;
};

/// Appends to `target` from byte `start` on, growing it (doubling) as needed.
/// Thread safety: one writer, and nobody else may grow `target` meanwhile.
class ISOLATE_EXPORT ByteWriter {
 public:
  /// Nothing of the target is known to be untouched.
  static constexpr std::size_t kNoneUntouched = std::numeric_limits<std::size_t>::max();

  /// `untouched_from`: where the target's bytes that nobody has written yet begin (pages new to
  /// the machine; what the writer grows is too). A large write into them is copied on two
  /// threads (copy_large: where the first write of a page is slow, its faults are taken side by
  /// side); any other write on this thread alone, leaving the machine's other cores to other
  /// work (a copy into warm memory gains little from a second thread).
  ByteWriter(WritableBytes& target, std::size_t start, std::size_t untouched_from = kNoneUntouched) noexcept;

  void write(const void* bytes, std::size_t n);
  void write_u8(std::uint8_t v) { write(&v, 1); }
  void write_u32(std::uint32_t v) { write(&v, sizeof v); }
  void write_u64(std::uint64_t v) { write(&v, sizeof v); }
  void write_string(std::string_view s);  // u32 length + bytes; std::length_error past 4 GiB
  /// Writes a u64 placeholder; returns its offset for patch_u64.
  std::size_t reserve_u64();
  void patch_u64(std::size_t at, std::uint64_t v) noexcept;
  /// Makes room for n more bytes and returns where they go (valid until the next write).
  std::byte* extend(std::size_t n);
  /// If `bytes` lie in the target past the 16 bytes this would write, records them as the
  /// payload where they are (u64 offset from the target's start, u64 size), without copying,
  /// and returns true; otherwise writes nothing and returns false.
  bool refer(std::span<const std::byte> bytes);
  /// True if `bytes` overlap the target (they would move if it grew).
  [[nodiscard]] bool overlaps(std::span<const std::byte> bytes) noexcept;
  /// Bytes written since `start`.
  [[nodiscard]] std::size_t written() const noexcept { return offset_ - start_; }
  /// Where the bytes this writer has not written and nobody had begin now (kNoneUntouched if
  /// unknown): for the next writer of the same target.
  [[nodiscard]] std::size_t untouched_from() const noexcept;

 private:
  WritableBytes& target_;
  std::size_t start_;
  std::size_t offset_;
  std::size_t untouched_from_;
};

}  // namespace isolate::detail
