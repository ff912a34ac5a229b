// input_file.hpp — a FileInput's bytes as the worker holds them: a regular file mapped, any other
// file read to its end (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace isolate::detail {

/// The bytes of an input file, followed by at least kInputPadding readable zero bytes; unmapped
/// when destroyed. Move-only. Thread safety: read from any thread; not shared while moved.
class InputFile {
 public:
  /// Reads `fd` from its offset to its end: a regular file is mapped (private, read-only; its
  /// pages are faulted in at once, a large file's on a thread of its own, ahead of the job that
  /// reads it, while the job starts), anything else read with large reads into memory grown by mremap (no copy):
  /// private memory on huge pages, or, with `outside_data_limit` (a worker under a memory limit),
  /// a memfd mapped shared, which RLIMIT_DATA does not count.
  /// Throws InputError: a read error, or more than `max_bytes` bytes.
  [[nodiscard]] static InputFile load(int fd, std::uint64_t max_bytes, bool outside_data_limit = false);

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {base_ + skip_, size_}; }
  /// Readable zero bytes after bytes().
  [[nodiscard]] std::size_t padding() const noexcept { return mapped_ - skip_ - size_; }

  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  ~InputFile();

 private:
  InputFile(std::byte* base, std::size_t mapped, std::size_t skip, std::size_t size) noexcept;
  static InputFile map_regular(int fd, std::uint64_t size_from_offset, std::uint64_t offset);
  class Populating;  // the thread that faults a large file's pages in

  static InputFile read_stream(int fd, std::uint64_t max_bytes, bool outside_data_limit);

  std::byte* base_ = nullptr;
  std::size_t mapped_ = 0;  // bytes mapped at base_
  std::size_t skip_ = 0;    // bytes before the input (the offset within its first page)
  std::size_t size_ = 0;
  std::unique_ptr<Populating> populating_;  // stopped and joined before the unmap
};

}  // namespace isolate::detail
