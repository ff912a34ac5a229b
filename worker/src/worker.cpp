// worker.cpp — the worker side of a run: attach to the segment, run the job, write the response.
#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/job_registry.hpp>
#include <isolate/detail/shared_memory.hpp>
#include <isolate/detail/wire_format.hpp>
#include <isolate/detail/worker_protocol.hpp>
#include <isolate/errors.hpp>
#include <isolate/worker.hpp>

#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

namespace isolate {
#ifndef ISOLATE_NO_PROCESS_BACKEND
namespace {

std::string this_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("(this program)") : path.string();
}

void serve(detail::SharedMemory& segment) {
  std::string job_name;
  std::string tag;
  std::span<const std::byte> input;
  {
    detail::ByteReader reader(detail::record_of(segment));
    job_name = reader.read_string();
    tag = reader.read_string();
    input = reader.read_bytes(reader.read_u64());
  }
  try {
    auto job = detail::find_job(job_name);
    if (!job) {
      throw IsolateError("job '" + job_name + "' is not defined in the worker executable " + this_executable() +
                         " (define the Job at namespace scope in code linked into that executable)");
    }
    if (job->input_tag != tag) {
      throw IsolateError("job '" + job_name + "' takes '" + std::string(job->input_tag) +
                         "' input in the worker executable but was sent '" + tag +
                         "' (parent and worker define the job with different types)");
    }
    JobContext context;
    detail::ByteWriter output(segment);
    const bool in_place = job->run(input, output, context);
    detail::publish_response(segment, output, in_place ? detail::ResponseKind::value_in_place : detail::ResponseKind::value);
  } catch (...) {
    const auto error = detail::capture_current_exception();
    detail::ByteWriter output(segment);  // starts over: a half-written value is discarded
    output.write_string(error.type_name);
    output.write_string(error.message);
    detail::publish_response(segment, output, detail::ResponseKind::error);
  }
}

/// A pool worker that has had no request for this long gives its kept heap back to the system.
/// Long enough that a worker of a busy pool keeps it: a sequential caller's jobs alternate
/// between two workers (each idles while the other works), and with 1 s a 2 s JSON parse found
/// its heap trimmed every time (offloaded parse 2.1 s -> 2.4 s, bench/isolate_bench).
constexpr auto kTrimWhenIdleFor = std::chrono::seconds(10);

/// Serves requests until the parent kills it (or dies: PR_SET_PDEATHSIG). The parent publishes
/// each request's sequence number in the slot's control block; the worker answers, stores the
/// number in response_seq, and rings the pool's doorbell.
int serve_pool(detail::SharedMemory& segment, detail::SharedMemory& control, unsigned slot) {
  // A pool worker lives for many jobs: keep freed heap mapped (no trim, no per-block mmap), so
  // the next job reuses pages already faulted in instead of faulting a fresh heap each time.
  // Once idle for kTrimWhenIdleFor, it returns that memory (malloc_trim): a worker that once
  // parsed a huge document does not hold its pages for ever.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 30);
  ::mallopt(M_TRIM_THRESHOLD, -1);
  auto& bell = detail::doorbell_of(control).bell;
  auto& mine = detail::slot_control(control, slot);
  const auto spin = detail::spin_duration();
  mine.worker_ready.store(1, std::memory_order_release);
  bell.ring();  // ready
  std::uint32_t seen = 0;
  for (;;) {
    auto next = mine.request.wait_change(seen, detail::Spin{.duration = spin, .yield = true}, kTrimWhenIdleFor);
    if (next == seen) {  // idle
      ::malloc_trim(0);
      next = mine.request.wait_change(seen, detail::Spin{});
    }
    seen = next;
    // The parent may have grown the segment for a large request.
    const auto size = detail::header_of(segment).segment_size.load(std::memory_order_acquire);
    if (size > segment.size()) segment.resize(static_cast<std::size_t>(size));
    serve(segment);  // may grow (and so remap) the segment for a large response
    detail::header_of(segment).segment_size.store(segment.size(), std::memory_order_release);
    mine.response_seq.store(seen, std::memory_order_release);
    bell.ring();
  }
}

}  // namespace
#endif

std::optional<int> run_worker_if_requested(int argc, char** argv) {
#ifdef ISOLATE_NO_PROCESS_BACKEND
  (void)argc;
  (void)argv;
  return std::nullopt;  // no worker processes on this platform
#else
  if (argc < 2 || argv == nullptr || argv[1] == nullptr) return std::nullopt;
  const auto request = detail::parse_worker_argument(argv[1]);
  if (!request) return std::nullopt;
  detail::note_worker_dispatched();
  if (!request->valid) {
    std::fprintf(stderr, "isolate: malformed worker argument '%s'\n", argv[1]);
    return detail::kWorkerExitUsage;
  }
  // Die with the parent. The parent spawns from a thread that lives as long as it does, so the
  // signal fires only when the parent process dies; if it died before prctl, getppid() says so.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != request->parent_pid) return detail::kWorkerExitOrphaned;
  try {
    auto segment = detail::SharedMemory::adopt(request->fd);
    if (segment.size() < detail::kRecordOffset) return detail::kWorkerExitBadSegment;
    auto& header = detail::header_of(segment);
    if (header.magic != detail::kSegmentMagic || header.version != detail::kWireVersion) {
      return detail::kWorkerExitBadSegment;
    }
    // Not before the parent holds our pidfd: ending unwatched, with SIGCHLD ignored in the
    // parent, would take how we ended with us. (Dying with the parent meanwhile: PDEATHSIG.)
    (void)header.watched.wait_change(0, detail::Spin{});
    auto expected = static_cast<std::uint32_t>(detail::SegmentState::requested);
    if (!header.state.compare_exchange_strong(expected, static_cast<std::uint32_t>(detail::SegmentState::attached))) {
      return detail::kWorkerExitBadSegment;
    }
    if (request->control_fd >= 0) {
      auto control = detail::SharedMemory::adopt(request->control_fd);
      if (!detail::has_slot(control, request->slot)) return detail::kWorkerExitBadSegment;
      return serve_pool(segment, control, request->slot);
    }
    serve(segment);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isolate worker: %s\n", e.what());
    return detail::kWorkerExitBadSegment;
  }
#endif
}

}  // namespace isolate
