// worker_environment.hpp — the environment a worker starts with: this process's, with glibc's
// malloc set up for big jobs (internal).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace isolate::detail {

/// The top pad a worker's malloc starts with (glibc.malloc.top_pad): each time its heap grows, it
/// grows by this much more than it needs, so a big job's allocations take a few large steps
/// rather than thousands of small brk calls (bench/isolate_bench, BM_JsonParse: see README).
inline constexpr std::size_t kWorkerTopPad = std::size_t{64} << 20;

/// This process's environment ("NAME=value" entries), with GLIBC_TUNABLES extended by
/// glibc.malloc.hugetlb=1 (the heap on transparent huge pages: one fault per 2 MiB instead of
/// per 4 KiB) and glibc.malloc.top_pad=kWorkerTopPad, each unless the environment already names
/// that tunable (the user's choice wins). Another allocator ignores them. Reads `environ`: like
/// posix_spawn itself, not safe against a concurrent setenv().
[[nodiscard]] std::vector<std::string> worker_environment();

}  // namespace isolate::detail
