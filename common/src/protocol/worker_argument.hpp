// worker_argument.hpp — how the parent tells a process it is a worker (internal: the protocol).
//
// The parent starts the worker executable with one argument, "--isolate-worker=V:FD:PPID[:READY]"
// for a one-shot run or "--isolate-worker=V:FD:PPID:CONTROL:BELL" for a pool worker: the wire
// version, the fd of its channel, the parent's pid (the worker exits at once if its parent is
// already gone), for a one-shot worker maybe the fd of an eventfd it writes once its process tree
// is complete (it serves: see worker/src/posix/process_tree.hpp; a pool worker tells it through
// its slot), and for a pool worker the fds of its slot's control segment and of the pool's
// doorbell. Limits
// a worker enforces itself follow as ";MEMORY:CPU_MS" (bytes, milliseconds; 0: none), and a
// sandbox as ";S<network 0|1>" then ":<path in hex>" for each readable path, then ";F<its
// compiled seccomp filter in hex>" (protocol/sandbox_filter.hpp), after the limits, which are
// then always written.
// Anything else in argv[1] means "not a worker". Platform-free: the dispatch guard of every build
// reads kWorkerFlag.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace isolate::detail {

inline constexpr std::string_view kWorkerFlag = "--isolate-worker=";

/// The version of the protocol both sides must speak: of the argument, the channel's layout and
/// its records. 2: in-place responses; 3: the channel's `watched` word; 4: a request's input kind
/// (bytes, or a file the worker reads); 5: the sandbox and its compiled filter in the argument;
/// 6: progress cells in the channel's header and the pool's control slots; 7: a one-shot worker's
/// tree-ready eventfd; 8: a pool worker may ask, with an answer, to be replaced; 9: a pool
/// worker's control words in a segment of their own, the doorbell in another.
inline constexpr std::uint32_t kWireVersion = 9;

/// Exit statuses of a worker that could not serve (a served job always exits 0, whatever the
/// job did: its result or error is in the segment).
inline constexpr int kWorkerExitUsage = 64;           // malformed worker argument
inline constexpr int kWorkerExitBadSegment = 65;      // segment unreadable or not in `requested` state
inline constexpr int kWorkerExitOrphaned = 66;        // the parent died before the worker started
inline constexpr int kWorkerExitNoProcessTree = 67;   // its PID namespace could not be set up
inline constexpr int kWorkerExitMemoryLimit = 68;     // an allocation failed under Limits::memory_bytes
inline constexpr int kWorkerExitCpuLimit = 69;        // a job used up Limits::cpu_time
inline constexpr int kWorkerExitLimitsRefused = 70;   // the kernel refused the worker's limits
inline constexpr int kWorkerExitSandboxRefused = 71;  // the kernel refused the worker's sandbox
// 100 + an index of kSandboxKilledCalls (protocol/sandbox_calls.hpp): the sandbox killed the
// worker for that call.

/// The limits a worker enforces itself (the parent checks the output's size).
struct WorkerLimits {
  std::uint64_t memory_bytes = 0;
  std::uint64_t cpu_ms = 0;
  friend bool operator==(const WorkerLimits&, const WorkerLimits&) = default;
};

/// The sandbox a worker enters before it reads its first request.
struct WorkerSandbox {
  bool enabled = false;
  bool network = false;
  std::vector<std::string> readable{};  // absolute paths
  std::string filter{};                 // encode_filter() bytes
  friend bool operator==(const WorkerSandbox&, const WorkerSandbox&) = default;
};

struct WorkerArgument {
  bool valid = false;
  unsigned version = 0;
  int fd = -1;
  pid_t parent_pid = 0;
  int control_fd = -1;     // >= 0: a pool worker (its slot's control segment)
  int bell_fd = -1;        // a pool worker's: the pool's doorbell
  int tree_ready_fd = -1;  // >= 0 (one-shot workers only): an eventfd to write once the tree is up
  WorkerLimits limits{};
  WorkerSandbox sandbox{};
};

namespace worker_argument_detail {

inline void append_hex(std::string& out, std::string_view bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.append(1, kDigits[byte >> 4]).append(1, kDigits[byte & 15]);
  }
}

inline std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned char byte = 0;
    const auto [next, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    if (ec != std::errc() || next != hex.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(byte));
  }
  return out;
}

/// "S0" or "S1", ":<hex>" per path, then ";F<hex>" (the filter).
inline bool parse_sandbox(std::string_view text, WorkerSandbox& out) {
  if (text.size() < 2 || text[0] != 'S' || (text[1] != '0' && text[1] != '1')) return false;
  out.enabled = true;
  out.network = text[1] == '1';
  const auto filter_at = text.find(";F");
  if (filter_at == std::string_view::npos) return false;
  const auto filter = from_hex(text.substr(filter_at + 2));
  if (!filter) return false;
  out.filter = *filter;
  text = text.substr(2, filter_at - 2);
  while (!text.empty()) {
    if (text[0] != ':') return false;
    text.remove_prefix(1);
    const auto path = from_hex(text.substr(0, text.find(':')));
    if (!path || path->find('\0') != std::string::npos) return false;
    text.remove_prefix(path->size() * 2);
    out.readable.push_back(*path);
  }
  return true;
}

}  // namespace worker_argument_detail

/// The argument for a worker: a pool worker's when control_fd >= 0 (with bell_fd; tree_ready_fd
/// is then not written), else a one-shot worker's, with tree_ready_fd if >= 0.
inline std::string make_worker_argument(int fd, pid_t parent, int control_fd = -1, int bell_fd = -1,
                                        WorkerLimits limits = {}, const WorkerSandbox& sandbox = {},
                                        int tree_ready_fd = -1) {
  // Built with append: g++ 12 at -O3 misreports a chain of operator+ here (-Wrestrict).
  std::string arg(kWorkerFlag);
  arg.append(std::to_string(kWireVersion))
      .append(":")
      .append(std::to_string(fd))
      .append(":")
      .append(std::to_string(parent));
  if (control_fd >= 0) {
    arg.append(":").append(std::to_string(control_fd)).append(":").append(std::to_string(bell_fd));
  } else if (tree_ready_fd >= 0) {
    arg.append(":").append(std::to_string(tree_ready_fd));
  }
  if (limits != WorkerLimits{} || sandbox.enabled) {
    arg.append(";").append(std::to_string(limits.memory_bytes)).append(":").append(std::to_string(limits.cpu_ms));
  }
  if (sandbox.enabled) {
    arg.append(sandbox.network ? ";S1" : ";S0");
    for (const auto& path : sandbox.readable) worker_argument_detail::append_hex(arg.append(":"), path);
    worker_argument_detail::append_hex(arg.append(";F"), sandbox.filter);
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
  if (out.valid && p != end) {
    int fourth = -1;
    out.valid = field(fourth) && fourth >= 0;
    if (p == end) {  // V:FD:PPID:READY
      out.tree_ready_fd = fourth;
    } else {  // V:FD:PPID:CONTROL:BELL
      out.control_fd = fourth;
      out.valid = out.valid && field(out.bell_fd) && out.bell_fd >= 0;
    }
  }
  if (p != end || (end > arg.data() && end[-1] == ':')) out.valid = false;
  if (out.valid && semicolon != std::string_view::npos) {
    const auto second = arg.find(';', semicolon + 1);
    p = end + 1;
    end = arg.data() + (second == std::string_view::npos ? arg.size() : second);
    out.valid = field(out.limits.memory_bytes) && p != end && field(out.limits.cpu_ms) && p == end && end[-1] != ':';
    if (out.valid && second != std::string_view::npos) {
      out.valid = worker_argument_detail::parse_sandbox(arg.substr(second + 1), out.sandbox);
    }
  }
  return out;
}

}  // namespace isolate::detail
