// serve.cpp — the worker side of a run: attach to the channel, run the job, respond; a pool
// worker serves until it is killed.
#include "serve.hpp"

#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/job_registry.hpp>
#include <isolate/errors.hpp>

#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "heap_prefault.hpp"
#include "input_file.hpp"
#include "job_limits.hpp"
#include "posix/futex.hpp"
#include "process_tree.hpp"
#include "protocol/channel.hpp"
#include "protocol/pool_control.hpp"
#include "protocol/worker_argument.hpp"
#include "sandbox.hpp"

namespace isolate::detail {
namespace {

std::string this_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("(this program)") : path.string();
}

/// Serves the request in `channel`: runs its job and responds with the output or the job's
/// exception (a malformed request, an unknown job or a mismatched input type included). The job
/// reports its progress to `progress`.
void serve(Channel& channel, const JobLimits& limits, ProgressCell& progress) {
  try {
    const auto request = channel.read_request();
    auto job = find_job(request.job);
    if (!job) {
      throw IsolateError("job '" + request.job + "' is not defined in the worker executable " + this_executable() +
                         " (define the Job at namespace scope in code linked into that executable)");
    }
    if (job->input_tag != request.input_tag) {
      throw IsolateError("job '" + request.job + "' takes '" + std::string(job->input_tag) +
                         "' input in the worker executable but was sent '" + request.input_tag +
                         "' (parent and worker define the job with different types)");
    }
    std::optional<InputFile> file;
    if (request.file) {
      file.emplace(InputFile::load(request.file->fd, request.file->max_bytes, limits.limits_memory()));
      ::close(request.file->fd);
    }
    const auto input = file ? file->bytes() : request.input;
    JobContext context({}, file ? file->padding() : request.input_padding, &progress);
    channel.respond([&](ByteWriter& output) { return job->run(input, output, context); });
  } catch (...) {
    const auto error = capture_current_exception();
    channel.respond_error(error.type_name, error.message);
  }
}

/// A worker keeps what its job frees (no trim, no block of its own mapping for a big allocation),
/// so that a pool worker's next job reuses pages already faulted in instead of faulting a fresh
/// heap, and a one-shot worker, which exits next, spends no time giving memory back. With the
/// huge pages and top pad its environment sets (runner/src/posix/worker_environment.hpp), a big
/// job's heap grows in a few 2 MiB-page steps.
void keep_freed_heap() noexcept {
  ::mallopt(M_MMAP_THRESHOLD, 1 << 30);
  ::mallopt(M_TRIM_THRESHOLD, -1);
}

/// A pool worker that has had no request for this long gives its kept heap back to the system.
/// A pool gives each job the lowest-numbered idle worker and frees a worker before its job's
/// future is ready, so a steady caller keeps hitting the same worker: any caller that runs a job
/// at least every 30 s finds that worker's heap warm (with 10 s, bench/isolate_bench's
/// interleaved parse, which comes back to the pool every few seconds on a loaded machine, found
/// it trimmed: 2,176 faults a parse instead of 48), and a worker left idle for half a minute
/// holds no memory it no longer uses.
constexpr auto kTrimWhenIdleFor = std::chrono::seconds(30);

/// Serves requests until the parent kills it (or dies: PR_SET_PDEATHSIG). The parent publishes
/// each request's sequence number in the slot's control block; the worker answers, stores the
/// number in response_seq, and rings the pool's doorbell. A worker whose CPU limit leaves no room
/// for a next job says so with its answer; the pool then replaces it.
int serve_pool(Channel& channel, PoolSlot& slot, JobLimits& limits, HeapPrefaulter& prefaulter) {
  // Once idle for kTrimWhenIdleFor, the worker returns its kept heap (malloc_trim): a worker
  // that once parsed a huge document does not hold its pages for ever.
  const auto spin = spin_duration();
  slot.announce_ready();
  std::uint32_t seen = 0;
  for (;;) {
    auto next = slot.wait_request(seen, spin, kTrimWhenIdleFor);
    if (next == seen) {  // idle
      ::malloc_trim(0);
      next = slot.wait_request(seen, std::chrono::nanoseconds(0), std::chrono::nanoseconds(-1));
    }
    seen = next;
    limits.begin_job();
    prefaulter.begin_job();
    serve(channel, limits, slot.progress());  // may grow (and so remap) the channel for a large response
    prefaulter.end_job();
    limits.end_job();
    end_job_processes();  // before the answer: once a future is ready, no process of its job remains
    slot.answer(seen, !limits.has_room_for_next_job());
  }
}

/// Tells a one-shot run's parent, through the eventfd it passed (`fd`, closed here: no job
/// inherits it), that this worker serves and its process tree is complete, so that the parent can
/// find the tree now rather than when it kills it (ChildProcess::find_tree). Nothing is written
/// for a worker that serves without a namespace of its own: there is no tree to find.
void tell_tree_ready(int fd, ProcessTree tree) noexcept {
  if (fd < 0) return;
  if (tree == ProcessTree::own_namespace) {
    const std::uint64_t one = 1;
    (void)::write(fd, &one, sizeof one);
  }
  ::close(fd);
}

/// A sandboxed worker ends here, not by returning to main(): the program's static destructors and
/// atexit handlers (a sanitizer's leak check among them, which starts a process) must not run
/// under a filter that kills for what they may do.
[[noreturn]] void end_sandboxed_worker() noexcept {
  std::fflush(nullptr);
  ::_exit(0);
}

}  // namespace

std::optional<int> serve_if_worker(const char* argument) {
  const auto request = parse_worker_argument(argument);
  if (!request) return std::nullopt;
  note_worker_dispatched();
  if (!request->valid || request->version != kWireVersion) {
    std::fprintf(stderr, "isolate: malformed worker argument '%s' (this worker speaks wire version %u)\n", argument,
                 static_cast<unsigned>(kWireVersion));
    return kWorkerExitUsage;
  }
  // Die with the parent. The parent spawns from a thread that lives as long as it does, so the
  // signal fires only when the parent process dies; if it died before prctl, getppid() says so.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != request->parent_pid) return kWorkerExitOrphaned;
  const ProcessTree tree = make_process_tree(request->limits.cpu_ms != 0);  // from here on, in the serving process only
  keep_freed_heap();
  JobLimits limits;
  if (!limits.set_up(request->limits, /*for_pool=*/request->control_fd >= 0)) {
    std::fprintf(stderr, "isolate worker: cannot set up its limits: %s\n", std::strerror(errno));
    return kWorkerExitLimitsRefused;
  }
  try {
    auto channel = Channel::adopt(request->fd);
    if (!channel.attach()) return kWorkerExitBadSegment;
    tell_tree_ready(request->tree_ready_fd, tree);
    std::optional<PoolSlot> slot;
    if (request->control_fd >= 0) slot.emplace(PoolSlot::adopt(request->control_fd, request->bell_fd));
    if (request->sandbox.enabled) {
      if (const auto error = enter_sandbox(request->sandbox); !error.empty()) {
        std::fprintf(stderr, "isolate worker: cannot enter its sandbox: %s\n", error.c_str());
        return kWorkerExitSandboxRefused;
      }
    }
    // Started inside the sandbox, so that its thread is under it too; not with a CPU limit (its
    // faults would count against the job's budget).
    HeapPrefaulter prefaulter;
    if (request->limits.cpu_ms == 0) (void)prefaulter.start();
    if (slot) return serve_pool(channel, *slot, limits, prefaulter);
    limits.begin_job();
    prefaulter.begin_job();
    serve(channel, limits, channel.progress());
    if (request->sandbox.enabled) end_sandboxed_worker();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isolate worker: %s\n", e.what());
    return kWorkerExitBadSegment;
  }
}

}  // namespace isolate::detail
