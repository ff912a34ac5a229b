// worker.cpp — the worker side of a run: attach to the channel, run the job, respond.
#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/job_registry.hpp>
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

#include "posix/futex.hpp"
#include "protocol/channel.hpp"
#include "protocol/pool_control.hpp"
#include "protocol/worker_argument.hpp"

namespace isolate {
#ifndef ISOLATE_NO_PROCESS_BACKEND
namespace {

std::string this_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("(this program)") : path.string();
}

/// Serves the request in `channel`: runs its job and responds with the output or the job's
/// exception (a malformed request, an unknown job or a mismatched input type included).
void serve(detail::Channel& channel) {
  try {
    const auto request = channel.read_request();
    auto job = detail::find_job(request.job);
    if (!job) {
      throw IsolateError("job '" + request.job + "' is not defined in the worker executable " + this_executable() +
                         " (define the Job at namespace scope in code linked into that executable)");
    }
    if (job->input_tag != request.input_tag) {
      throw IsolateError("job '" + request.job + "' takes '" + std::string(job->input_tag) +
                         "' input in the worker executable but was sent '" + request.input_tag +
                         "' (parent and worker define the job with different types)");
    }
    JobContext context;
    channel.respond([&](detail::ByteWriter& output) { return job->run(request.input, output, context); });
  } catch (...) {
    const auto error = detail::capture_current_exception();
    channel.respond_error(error.type_name, error.message);
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
int serve_pool(detail::Channel& channel, detail::PoolSlot& slot) {
  // A pool worker lives for many jobs: keep freed heap mapped (no trim, no per-block mmap), so
  // the next job reuses pages already faulted in instead of faulting a fresh heap each time.
  // Once idle for kTrimWhenIdleFor, it returns that memory (malloc_trim): a worker that once
  // parsed a huge document does not hold its pages for ever.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 30);
  ::mallopt(M_TRIM_THRESHOLD, -1);
  const auto spin = detail::spin_duration();
  slot.announce_ready();
  std::uint32_t seen = 0;
  for (;;) {
    auto next = slot.wait_request(seen, spin, kTrimWhenIdleFor);
    if (next == seen) {  // idle
      ::malloc_trim(0);
      next = slot.wait_request(seen, std::chrono::nanoseconds(0), std::chrono::nanoseconds(-1));
    }
    seen = next;
    serve(channel);  // may grow (and so remap) the channel for a large response
    slot.answer(seen);
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
  if (!request->valid || request->version != detail::kWireVersion) {
    std::fprintf(stderr, "isolate: malformed worker argument '%s' (this worker speaks wire version %u)\n", argv[1],
                 static_cast<unsigned>(detail::kWireVersion));
    return detail::kWorkerExitUsage;
  }
  // Die with the parent. The parent spawns from a thread that lives as long as it does, so the
  // signal fires only when the parent process dies; if it died before prctl, getppid() says so.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != request->parent_pid) return detail::kWorkerExitOrphaned;
  try {
    auto channel = detail::Channel::adopt(request->fd);
    if (!channel.attach()) return detail::kWorkerExitBadSegment;
    if (request->control_fd >= 0) {
      auto slot = detail::PoolSlot::adopt(request->control_fd, request->slot);
      return serve_pool(channel, slot);
    }
    serve(channel);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isolate worker: %s\n", e.what());
    return detail::kWorkerExitBadSegment;
  }
#endif
}

}  // namespace isolate
