// worker_protocol.hpp — how the parent tells a process it is a worker (internal).
//
// The parent starts the worker executable with one argument, "--isolate-worker=V:FD:PPID":
// wire version, the fd of the shared segment, and the parent's pid (the worker exits at once if
// its parent is already gone). Anything else in argv[1] means "not a worker".
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace isolate::detail {

inline constexpr std::string_view kWorkerFlag = "--isolate-worker=";

/// Exit statuses of a worker that could not serve (a served job always exits 0, whatever the
/// job did: its result or error is in the segment).
inline constexpr int kWorkerExitUsage = 64;      // malformed worker argument
inline constexpr int kWorkerExitBadSegment = 65;  // segment unreadable or not in `requested` state
inline constexpr int kWorkerExitOrphaned = 66;    // the parent died before the worker started

struct WorkerArgument {
  bool valid = false;
  unsigned version = 0;
  int fd = -1;
  pid_t parent_pid = 0;
};

inline std::string make_worker_argument(unsigned version, int fd, pid_t parent) {
  return std::string(kWorkerFlag) + std::to_string(version) + ":" + std::to_string(fd) + ":" + std::to_string(parent);
}

/// nullopt: not a worker argument; valid == false: a worker argument that does not parse.
inline std::optional<WorkerArgument> parse_worker_argument(std::string_view arg) {
  if (arg.substr(0, kWorkerFlag.size()) != kWorkerFlag) return std::nullopt;
  arg.remove_prefix(kWorkerFlag.size());
  WorkerArgument out;
  const char* p = arg.data();
  const char* end = arg.data() + arg.size();
  auto field = [&](auto& value, bool last) {
    auto [next, ec] = std::from_chars(p, end, value);
    if (ec != std::errc() || next == p) return false;
    p = next;
    if (last) return p == end;
    if (p == end || *p != ':') return false;
    ++p;
    return true;
  };
  out.valid = field(out.version, false) && field(out.fd, false) && field(out.parent_pid, true) && out.fd >= 0 &&
              out.parent_pid > 0;
  return out;
}

}  // namespace isolate::detail
