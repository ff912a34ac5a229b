// shared_memory.hpp — an anonymous shared-memory segment backed by a memfd (internal).
//
// Defines isolate::detail::SharedMemory: a move-only owner of a memfd (created with MFD_CLOEXEC)
// and of its read/write MAP_SHARED mapping. The parent creates a segment and passes fd() to the
// worker as an inherited descriptor; the worker adopts it. A memfd has no name: nothing ever
// appears in /dev/shm, and the memory is freed when the last fd and mapping are gone, however the
// processes die. Sizes are set with ftruncate (pages are committed lazily, on first touch).
//
//   auto segment = isolate::detail::SharedMemory::create(4096);
//   std::memcpy(segment.data(), bytes, n);
//   spawn(worker, {...}, {segment.fd()});                 // the worker sees it as fd 3
//   // in the worker:
//   auto same = isolate::detail::SharedMemory::adopt(3);  // maps the whole segment
//
// Not public API: the layout of what goes into the segment is the protocol's business
// (src/protocol).
#pragma once

#include <isolate/detail/byte_writer.hpp>
#include <isolate/export.hpp>

#include <cstddef>
#include <memory>

namespace isolate::detail {

/// An anonymous memfd segment mapped read/write and shared (MAP_SHARED) into this process.
///
/// Size 0 is allowed: the memfd exists but nothing is mapped, data() is nullptr and size() is 0;
/// resize() from or to 0 maps or unmaps as needed. A moved-from object is empty: fd() is -1,
/// data() is nullptr, size() is 0; it may only be destroyed or assigned to.
///
/// Every process that maps the segment sees the same bytes. The segment does not synchronise
/// access: that is up to whoever lays out the data (atomics, a single writer, a wakeup fd).
///
/// Thread safety: const members may be called concurrently; resize(), assignment and
/// destruction need exclusive access (no other thread may use the object or data() meanwhile).
class ISOLATE_EXPORT SharedMemory final : public WritableBytes {
 public:
  /// Creates a new memfd segment of `size` bytes (zero-filled, sealing allowed) and maps it.
  /// Does not block. Throws IsolateError (with the errno text) when memfd_create, ftruncate or
  /// mmap fail, e.g. EMFILE or ENOMEM.
  [[nodiscard]] static SharedMemory create(std::size_t size);

  /// Takes ownership of `fd` (a memfd or any regular file opened read/write, e.g. one inherited
  /// from the parent), sets FD_CLOEXEC on it so it does not leak into this process's own
  /// children, and maps its whole current size (from fstat). Does not block.
  /// Throws IsolateError when `fd` is not an open descriptor (EBADF), is not a regular file, or
  /// cannot be mapped read/write; in the last two cases `fd` is closed (ownership was taken).
  [[nodiscard]] static SharedMemory adopt(int fd);

  /// An empty object: no fd, nothing mapped (the same state as a moved-from object).
  SharedMemory() noexcept;
  SharedMemory(SharedMemory&& other) noexcept;
  /// Releases this object's segment first, then takes over `other`'s.
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  /// Unmaps the segment and closes the fd (the memory is freed once no other process maps it
  /// or holds an fd of it).
  ~SharedMemory();

  /// Sets the segment's size to `new_size` (ftruncate) and maps it anew. When growing (or
  /// remapping at the same size), a file that is already at least `new_size` long (another
  /// holder grew it) is only mapped, never cut. The contents are kept up to min(old, new) size;
  /// bytes past the old size read as zero. data() changes: pointers
  /// into the old mapping are invalid afterwards. Other processes that mapped the segment keep
  /// their old mapping: after a shrink, touching their pages past the new end raises SIGBUS there.
  /// Does not block. Throws IsolateError on failure (e.g. ENOMEM, or called on an empty object);
  /// the object then keeps its old size and mapping. (After forbid_shrinking(), a grow whose
  /// mapping failed leaves the file at the new length: it cannot be cut back.)
  void resize(std::size_t new_size);

  /// Seals the memfd against shrinking (F_SEAL_SHRINK) and against further seals (F_SEAL_SEAL),
  /// for every process that holds it: no one, a misbehaving worker included, can truncate it
  /// below its current size (so no mapping of it can SIGBUS) or seal it against growth or
  /// writes. Growing still works; resize() to a smaller size throws from then on.
  /// Throws IsolateError on an empty object, or for an adopted fd that does not allow sealing.
  void forbid_shrinking();

  /// The first byte of the mapping; nullptr when size() is 0.
  [[nodiscard]] std::byte* data() noexcept;
  /// The first byte of the mapping; nullptr when size() is 0.
  [[nodiscard]] const std::byte* data() const noexcept;
  /// The mapped size in bytes (the segment's size as of create/adopt/resize).
  [[nodiscard]] std::size_t size() const noexcept;
  /// WritableBytes: a ByteWriter appends to the segment, growing it (resize) as it needs.
  [[nodiscard]] std::byte* bytes() noexcept override { return data(); }
  [[nodiscard]] std::size_t length() const noexcept override { return size(); }
  void grow_to(std::size_t new_size) override {
    if (new_size > size()) resize(new_size);
  }

  /// The memfd (owned by this object, FD_CLOEXEC set); -1 for an empty object. Pass it to
  /// ChildProcess::spawn to hand the segment to a worker; do not close it.
  [[nodiscard]] int fd() const noexcept;

 private:
  struct Mapping;
  SharedMemory(int fd, std::unique_ptr<Mapping> mapping) noexcept;
  void release() noexcept;

  int fd_ = -1;
  std::unique_ptr<Mapping> mapping_;  // null when nothing is mapped (size 0 or empty)
};

}  // namespace isolate::detail
