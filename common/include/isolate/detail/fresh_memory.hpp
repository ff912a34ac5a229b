// fresh_memory.hpp — faulting in large, untouched buffers in one call, and copying large buffers
// (internal; reachable because Codec, a template, prepares the buffers it decodes into).
//
// A 256 MiB buffer written for the first time takes 65536 page faults: copying into fresh memory
// took 118 ms here against 20 ms into warm memory. Asking for transparent huge pages and
// populating the range with one madvise (MADV_POPULATE_WRITE, Linux 5.14) first: 43 ms.
// Codecs call this on the buffer they are about to fill; ByteWriter on the part of a segment it
// has just grown. In a pool worker (whose malloc keeps large blocks on the heap) the huge-page
// advice stays on that heap range for later allocations too.
#pragma once

#include <isolate/export.hpp>

#include <cstddef>

namespace isolate::detail {

/// Below this many bytes the system calls cost more than the page faults they save.
inline constexpr std::size_t kFreshMemoryThreshold = std::size_t{4} << 20;

/// Hints that [p, p + n), memory this process has mapped and is about to write in full, should
/// be backed by huge pages where the kernel allows it, and faults it in. The whole pages inside
/// the range are affected; the contents are unchanged. A hint only: does nothing when n is below
/// kFreshMemoryThreshold or the kernel lacks the advice. Thread safety: any thread. Never throws.
ISOLATE_EXPORT void prepare_fresh_memory(void* p, std::size_t n) noexcept;

/// Copies n bytes from `from` to `to` (which must not overlap), as memcpy does; a large copy
/// (32 MiB and more, on a machine with a second CPU) runs as two halves side by side, the upper
/// one on a helper thread. Where a VM's host takes back the memory its guest frees, a page of
/// shared memory that MADV_POPULATE_WRITE mapped is backed by the host only at its first real
/// write: the copy then takes those faults, and on two threads it takes them in about half the
/// time (100 MB into a fresh segment: 129-135 ms on one thread, 80-87 ms on two, on this
/// project's VM). Thread safety: any thread. Never throws.
ISOLATE_EXPORT void copy_large(void* to, const void* from, std::size_t n) noexcept;

}  // namespace isolate::detail
