// test_jobs.hpp — the purpose-built jobs of the integration and stress suites. Each is a small
// behaviour a worker can show: echo, spin, sleep, crash, abort, throw, exit N, alloc N, and
// reports of its own process (pid, open fds, signal state).
#pragma once

#include <isolate/isolate.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace isolate::test {

struct Point {
  int x = 0;
  int y = 0;
  std::string label;
  friend bool operator==(const Point&, const Point&) = default;
};
void to_json(nlohmann::json& j, const Point& p);
void from_json(const nlohmann::json& j, Point& p);

/// Registered with ExceptionType: crosses the boundary as itself.
struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// Not registered: arrives as JobError.
struct Unregistered : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// Derived from a registered standard type but not registered itself: arrives as JobError.
struct DerivedInvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

extern Job<std::string, std::string> echo;
extern Job<std::vector<std::uint8_t>, std::vector<std::uint8_t>> echo_bytes;
extern Job<nlohmann::json, nlohmann::json> echo_json;
extern Job<Point, Point> mirror_point;       // returns {y, x, label + "!"}
extern Job<std::string, std::string> spin;   // input: a file to write the pid to ("" none)
extern Job<std::string, int> rendezvous;     // in a directory: waits for a 2nd job; its pid
extern Job<int, int> sleep_ms;               // sleeps N ms, returns N
extern Job<std::string, std::string> crash;  // SIGSEGV
/// Starts processes that try to outlive it: a plain child, one in a session of its own (setsid),
/// a double-forked daemon and an exec'ed /bin/sleep. Each writes its host pid to a file in
/// input["dir"]; then the job does input["then"]: "return" (returns "started"), "spin" or "crash".
extern Job<nlohmann::json, std::string> start_processes;
extern Job<std::string, std::string> abort_job;                     // std::abort
extern Job<int, int> exit_with;                                     // _exit(N) without a result
extern Job<std::string, std::string> throw_named;                   // throws the type named by the input
extern Job<std::int64_t, std::int64_t> alloc_mib;                   // allocates and touches N MiB
extern Job<std::int64_t, std::string> alloc_mib_caught;             // as alloc_mib, but catches bad_alloc: "caught"
extern Job<std::int64_t, std::int64_t> burn_cpu_ms;                 // spins until it used N ms more CPU time
extern Job<std::int64_t, std::string> output_of;                    // returns N bytes
extern Job<std::string, nlohmann::json> process_report;             // pid, ppid, open fds, stdio, SigBlk, SigIgn
extern Job<std::string, std::string> env_value;                     // getenv(input), "" if unset
extern Job<std::string_view, std::string> view_padding;             // the input_padding() bytes after its input
extern Job<std::string, std::string> read_stdin;                    // what it reads from fd 0 until EOF (at most 1 MiB)
extern Job<std::string_view, std::string> view_reverse;             // input read in place
extern Job<std::span<const std::uint8_t>, std::uint64_t> span_sum;  // input read in place
extern Job<std::string_view, std::string> spin_view;                // never returns (view input)
extern Job<std::string_view, std::string> view_mapping;             // the /proc/self/maps path holding its input
extern Job<std::span<const std::uint8_t>, std::span<const std::uint8_t>> echo_span;  // returns its input view
extern Job<std::string_view, std::string_view> view_tail;       // its input without the first byte (a view of it)
extern Job<std::string_view, std::string_view> view_static;     // a view of a static string, whatever the input
extern Job<std::string, std::string_view> owned_head;           // a view of its owned input's first 3 bytes
extern std::string_view preset_output;                          // what returns_preset returns
extern Job<std::string_view, std::string_view> returns_preset;  // returns preset_output (unit tests)
extern Job<std::string, std::string> wait_for_stop;             // thread backend: returns as soon as stop is requested
extern std::atomic<int> wait_for_stop_started;                  // thread backend: counts wait_for_stop calls begun
extern Job<std::string, std::string> corrupt_response;
/// Progress: input {"total": N, "then": "wait" | "return", "sleep_us": S}: reports done = 1..N of
/// N (sleeping S µs after each), then "wait" holds there until stopped (thread backend) or killed
/// (process), or "return" returns "reported N".
extern Job<nlohmann::json, std::string> report_progress;  // claims a response larger than the segment
/// Dies (or fails) the way its input names: "segv" (a real null write), "stack-overflow",
/// "abort", "terminate" (an exception out of a noexcept function), "bus", "fpe", "ill", "kill"
/// (SIGKILL to itself, as the OOM killer would), "exit-0" / "exit-3" (exit without a result),
/// "bad-alloc", "throw-int", "scribble" (overwrites its channel's header, then returns).
extern Job<std::string, std::string> crash_kind;

}  // namespace isolate::test
