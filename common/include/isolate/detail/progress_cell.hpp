// progress_cell.hpp — where a running job's latest progress report lies (internal; reachable
// because JobContext::report_progress writes it inline).
//
// In a worker process the cell lies in shared memory the parent reads (a one-shot run's channel,
// a pool worker's control slot); on the thread backend in the run's own ProgressWatch. The job
// stores, the parent polls: no message, no lock, no wait per report.
#pragma once

#include <atomic>
#include <cstdint>

namespace isolate::detail {

struct ProgressCell {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> total{0};

  /// The job's side: `total` first, so that a reader that sees the new `done` sees this `total`.
  void store(std::uint64_t new_done, std::uint64_t new_total) noexcept {
    total.store(new_total, std::memory_order_relaxed);
    done.store(new_done, std::memory_order_release);
  }
  void reset() noexcept { store(0, 0); }
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "a cell is shared across processes");

}  // namespace isolate::detail
