// worker_argument.hpp — how the parent tells a process it is a worker (internal: the protocol).
//
// The parent starts the worker executable with one argument, "--isolate-worker=V:FD:PPID" for a
// one-shot run or "--isolate-worker=V:FD:PPID:CONTROL:SLOT" for a pool worker: the wire version,
// the fd of its channel, the parent's pid (the worker exits at once if its parent is already
// gone) and, for a pool worker, the fd of the pool's control segment and its slot in it. Limits
// a worker enforces itself follow as ";MEMORY:CPU_MS" (bytes, milliseconds; 0: none).
// Anything else in argv[1] means "not a worker". Platform-free: the dispatch guard of every build
// reads kWorkerFlag.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace isolate::detail {

inline constexpr std::string_view kWorkerFlag = "--isolate-worker=";

/// The version of the protocol both sides must speak: of the argument, the channel's layout and
/// its records. 2: in-place responses; 3: the channel's `watched` word; 4: a request's input kind
/// (bytes, or a file the worker reads).
inline constexpr std::uint32_t kWireVersion = 4;

/// Exit statuses of a worker that could not serve (a served job always exits 0, whatever the
/// job did: its result or error is in the segment).
inline constexpr int kWorkerExitUsage = 64;          // malformed worker argument
inline constexpr int kWorkerExitBadSegment = 65;     // segment unreadable or not in `requested` state
inline constexpr int kWorkerExitOrphaned = 66;       // the parent died before the worker started
inline constexpr int kWorkerExitNoProcessTree = 67;  // its PID namespace could not be set up
inline constexpr int kWorkerExitMemoryLimit = 68;    // an allocation failed under Limits::memory_bytes
inline constexpr int kWorkerExitCpuLimit = 69;       // a job used up Limits::cpu_time
inline constexpr int kWorkerExitLimitsRefused = 70;  // the kernel refused the worker's limits

/// The limits a worker enforces itself (the parent checks the output's size).
struct WorkerLimits {
  std::uint64_t memory_bytes = 0;
  std::uint64_t cpu_ms = 0;
  friend bool operator==(const WorkerLimits&, const WorkerLimits&) = default;
};

struct WorkerArgument {
  bool valid = false;
  unsigned version = 0;
  int fd = -1;
  pid_t parent_pid = 0;
  int control_fd = -1;  // >= 0: a pool worker
  unsigned slot = 0;
  WorkerLimits limits{};
};

inline std::string make_worker_argument(int fd, pid_t parent, int control_fd = -1, unsigned slot = 0,
                                        WorkerLimits limits = {}) {
  // Built with append: g++ 12 at -O3 misreports a chain of operator+ here (-Wrestrict).
  std::string arg(kWorkerFlag);
  arg.append(std::to_string(kWireVersion))
      .append(":")
      .append(std::to_string(fd))
      .append(":")
      .append(std::to_string(parent));
  if (control_fd >= 0) arg.append(":").append(std::to_string(control_fd)).append(":").append(std::to_string(slot));
  if (limits != WorkerLimits{}) {
    arg.append(";").append(std::to_string(limits.memory_bytes)).append(":").append(std::to_string(limits.cpu_ms));
  }
  return arg;
}

/// nullopt: not a worker argument; valid == false: a worker argument that does not parse.
inline std::optional<WorkerArgument> parse_worker_argument(std::string_view arg) {
  if (arg.substr(0, kWorkerFlag.size()) != kWorkerFlag) return std::nullopt;
  arg.remove_prefix(kWorkerFlag.size());
  WorkerArgument out;
  const auto semicolon = arg.find(';');
  const char* p = arg.data();
  const char* end = arg.data() + (semicolon == std::string_view::npos ? arg.size() : semicolon);
  auto field = [&](auto& value) {
    auto [next, ec] = std::from_chars(p, end, value);
    if (ec != std::errc() || next == p) return false;
    p = next;
    if (p != end && *p == ':') ++p;
    return true;
  };
  out.valid = field(out.version) && field(out.fd) && field(out.parent_pid) && out.fd >= 0 && out.parent_pid > 0;
  if (out.valid && p != end) out.valid = field(out.control_fd) && out.control_fd >= 0 && p != end && field(out.slot);
  if (p != end || (end > arg.data() && end[-1] == ':')) out.valid = false;
  if (out.valid && semicolon != std::string_view::npos) {
    p = end + 1;
    end = arg.data() + arg.size();
    out.valid = field(out.limits.memory_bytes) && p != end && field(out.limits.cpu_ms) && p == end && arg.back() != ':';
  }
  return out;
}

}  // namespace isolate::detail
