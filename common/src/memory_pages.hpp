// memory_pages.hpp — the page size and faulting pages in ahead of use (internal).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; Debian 12's headers may predate it
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace isolate::detail {

/// The size of a page of memory.
inline std::size_t page_size() noexcept {
  static const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

/// Faults in [start, start + length) (whole pages, writable memory this process has mapped) as
/// writes would, without changing its contents. 0, or the errno of the failed madvise: EINVAL on
/// a kernel before 5.14, ENOMEM where part of the range is no longer mapped.
inline int populate_for_write(void* start, std::size_t length) noexcept {
  return ::madvise(start, length, MADV_POPULATE_WRITE) == 0 ? 0 : errno;
}

/// Faults in [start, start + length) (whole pages this process has mapped readable) as reads
/// would: a file mapping's pages are read into the page cache if they are not there and mapped.
/// 0, or the errno of the failed madvise (as populate_for_write).
inline int populate_for_read(void* start, std::size_t length) noexcept {
  return ::madvise(start, length, MADV_POPULATE_READ) == 0 ? 0 : errno;
}

}  // namespace isolate::detail
