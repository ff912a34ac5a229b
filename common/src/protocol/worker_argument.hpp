// worker_argument.hpp — how the parent tells a process it is a worker (internal: the protocol).
//
// The parent starts the worker executable with one argument, "--isolate-worker=V:FD:PPID" for a
// one-shot run or "--isolate-worker=V:FD:PPID:CONTROL:SLOT" for a pool worker: the wire version,
// the fd of its channel, the parent's pid (the worker exits at once if its parent is already
// gone) and, for a pool worker, the fd of the pool's control segment and its slot in it.
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

struct WorkerArgument {
  bool valid = false;
  unsigned version = 0;
  int fd = -1;
  pid_t parent_pid = 0;
  int control_fd = -1;  // >= 0: a pool worker
  unsigned slot = 0;
};

inline std::string make_worker_argument(int fd, pid_t parent, int control_fd = -1, unsigned slot = 0) {
  // Built with append: g++ 12 at -O3 misreports a chain of operator+ here (-Wrestrict).
  std::string arg(kWorkerFlag);
  arg.append(std::to_string(kWireVersion))
      .append(":")
      .append(std::to_string(fd))
      .append(":")
      .append(std::to_string(parent));
  if (control_fd >= 0) arg.append(":").append(std::to_string(control_fd)).append(":").append(std::to_string(slot));
  return arg;
}

/// nullopt: not a worker argument; valid == false: a worker argument that does not parse.
inline std::optional<WorkerArgument> parse_worker_argument(std::string_view arg) {
  if (arg.substr(0, kWorkerFlag.size()) != kWorkerFlag) return std::nullopt;
  arg.remove_prefix(kWorkerFlag.size());
  WorkerArgument out;
  const char* p = arg.data();
  const char* end = arg.data() + arg.size();
  auto field = [&](auto& value) {
    auto [next, ec] = std::from_chars(p, end, value);
    if (ec != std::errc() || next == p) return false;
    p = next;
    if (p != end && *p == ':') ++p;
    return true;
  };
  out.valid = field(out.version) && field(out.fd) && field(out.parent_pid) && out.fd >= 0 && out.parent_pid > 0;
  if (out.valid && p != end) out.valid = field(out.control_fd) && out.control_fd >= 0 && p != end && field(out.slot);
  if (p != end || (arg.size() > 0 && arg.back() == ':')) out.valid = false;
  return out;
}

}  // namespace isolate::detail
