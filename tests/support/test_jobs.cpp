// test_jobs.cpp — the jobs of test_jobs.hpp.
#include "test_jobs.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "process_helpers.hpp"
#include "process_table.hpp"
#ifdef ISOLATE_TEST_PROCESS_BACKEND
#include "protocol/layout.hpp"  // the jobs that play a broken worker write its channel's header
#endif

namespace isolate::test {

void to_json(nlohmann::json& j, const Point& p) { j = {{"x", p.x}, {"y", p.y}, {"label", p.label}}; }
void from_json(const nlohmann::json& j, Point& p) {
  j.at("x").get_to(p.x);
  j.at("y").get_to(p.y);
  j.at("label").get_to(p.label);
}

namespace {
ExceptionType<QuotaExceeded> quota_exceeded_type("isolate::test::QuotaExceeded");

void write_pid(const std::string& file) {
  if (file.empty()) return;
  const auto tmp = file + ".tmp";
  std::ofstream(tmp) << host_pid();
  std::filesystem::rename(tmp, file);
}
}  // namespace

Job<std::string, std::string> echo("test.echo", [](const std::string& in) { return in; });

Job<std::vector<std::uint8_t>, std::vector<std::uint8_t>> echo_bytes("test.echo-bytes",
                                                                     [](const std::vector<std::uint8_t>& in) {
                                                                       return in;
                                                                     });

Job<nlohmann::json, nlohmann::json> echo_json("test.echo-json", [](const nlohmann::json& in) { return in; });

Job<Point, Point> mirror_point("test.mirror-point", [](const Point& p) { return Point{p.y, p.x, p.label + "!"}; });

Job<std::string, std::string> spin("test.spin", [](const std::string& pid_file) -> std::string {
  write_pid(pid_file);
  std::atomic<std::uint64_t> n{0};
  for (;;) n.fetch_add(1, std::memory_order_relaxed);
});

namespace {
/// A child of the job that writes its pid to `dir`/<tag> and waits to be killed.
[[noreturn]] void linger(const std::string& dir, const std::string& tag) {
  write_pid(dir + "/" + tag);
  for (;;) ::pause();
}
}  // namespace

Job<nlohmann::json, std::string> start_processes("test.start-processes", [](const nlohmann::json& in) -> std::string {
  const auto dir = in.at("dir").get<std::string>();
  if (::fork() == 0) linger(dir, "plain");
  if (::fork() == 0) {
    ::setsid();
    linger(dir, "session");
  }
  if (const pid_t middle = ::fork(); middle == 0) {  // a daemon: its parent exits at once
    ::setsid();
    if (::fork() == 0) linger(dir, "daemon");
    ::_exit(0);
  } else {
    ::waitpid(middle, nullptr, 0);
  }
  if (::fork() == 0) {
    write_pid(dir + "/exec");  // the pid stays the same across execl
    ::execl("/bin/sleep", "sleep", "1000", nullptr);
    ::_exit(127);
  }
  const auto then = in.at("then").get<std::string>();
  for (const char* tag : {"plain", "session", "daemon", "exec"}) {
    while (!std::filesystem::exists(dir + "/" + tag)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (then == "crash") ::raise(SIGSEGV);
  if (then == "spin") {
    write_pid(dir + "/job");
    for (;;) ::pause();
  }
  return "started";
});

Job<std::string, int> rendezvous("test.rendezvous", [](const std::string& directory) {
  // Arrive (a file named after this process), then wait until a second job has arrived too.
  std::ofstream(std::filesystem::path(directory) / std::to_string(host_pid())) << "here";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const auto arrived = std::distance(std::filesystem::directory_iterator(directory), {});
    if (arrived >= 2) return static_cast<int>(host_pid());
    if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("the other job never arrived");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
});

Job<int, int> sleep_ms("test.sleep-ms", [](const int& ms, JobContext& context) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until && !context.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return ms;
});

Job<std::string, std::string> crash("test.crash", [](const std::string&) -> std::string {
  std::raise(SIGSEGV);
  return "unreachable";
});

Job<std::string, std::string> abort_job("test.abort", [](const std::string&) -> std::string { std::abort(); });

Job<int, int> exit_with("test.exit", [](const int& code) -> int { std::_Exit(code); });

Job<std::string, std::string> throw_named("test.throw", [](const std::string& type) -> std::string {
  if (type == "invalid_argument") throw std::invalid_argument("bad argument");
  if (type == "out_of_range") throw std::out_of_range("index 7 out of range");
  if (type == "runtime_error") throw std::runtime_error("runtime trouble");
  if (type == "overflow_error") throw std::overflow_error("too big");
  if (type == "bad_alloc") throw std::bad_alloc();
  if (type == "quota") throw QuotaExceeded("quota of 5 exceeded");
  if (type == "unregistered") throw Unregistered("nobody knows me");
  if (type == "derived") throw DerivedInvalidArgument("derived from invalid_argument");
  if (type == "int") throw 42;
  return "no throw";
});

Job<std::int64_t, std::int64_t> alloc_mib("test.alloc-mib", [](const std::int64_t& mib) {
  std::vector<char> block(static_cast<std::size_t>(mib) << 20);
  for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = 1;
  return mib;
});

Job<std::int64_t, std::string> alloc_mib_caught("test.alloc-mib-caught", [](const std::int64_t& mib) -> std::string {
  try {
    std::vector<char> block(static_cast<std::size_t>(mib) << 20);
    for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = 1;
    return "allocated";
  } catch (const std::bad_alloc&) {
    return "caught";
  }
});

Job<std::int64_t, std::int64_t> burn_cpu_ms("test.burn-cpu-ms", [](const std::int64_t& ms) {
  const auto used = [] {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return std::int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
  };
  const auto until = used() + ms;
  std::atomic<std::uint64_t> n{0};
  while (used() < until) n.fetch_add(1, std::memory_order_relaxed);
  return ms;
});

Job<std::int64_t, std::string> output_of("test.output-of", [](const std::int64_t& n) {
  return std::string(static_cast<std::size_t>(n), 'x');
});

Job<std::string, nlohmann::json> process_report("test.process-report", [](const std::string&) {
  nlohmann::json fds = nlohmann::json::array();
  // Collect the names first: the directory iterator holds an fd of its own while it runs.
  std::vector<int> seen;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    seen.push_back(std::stoi(entry.path().filename().string()));
  }
  for (int fd : seen) {
    if (::fcntl(fd, F_GETFD) != -1) fds.push_back(fd);  // the iterator's own fd is closed by now
  }
  nlohmann::json stdio = nlohmann::json::array();
  for (int fd = 0; fd < 3; ++fd) {
    std::error_code ec;
    stdio.push_back(std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).string());
  }
  const pid_t pid = host_pid();
  return nlohmann::json{{"pid", pid},
                        {"ppid", parent_of(pid)},
                        {"ancestors", nlohmann::json::array({parent_of(pid), parent_of(parent_of(pid)),
                                                             parent_of(parent_of(parent_of(pid)))})},
                        {"fds", fds},
                        {"stdio", stdio},
                        {"sig_blocked", proc_status_field("/proc/self/status", "SigBlk")},
                        {"sig_ignored", proc_status_field("/proc/self/status", "SigIgn")}};
});

Job<std::string, std::string> env_value("test.env-value", [](const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return std::string(value != nullptr ? value : "");
});

Job<std::string_view, std::string> view_padding("test.view-padding",
                                                [](const std::string_view& in, JobContext& context) {
                                                  return std::string(in.data() + in.size(), context.input_padding());
                                                });

Job<std::string, std::string> read_stdin("test.read-stdin", [](const std::string&) {
  std::string read;
  char buffer[4096];
  for (ssize_t n; read.size() < (1u << 20) && (n = ::read(0, buffer, sizeof buffer)) > 0;) {
    read.append(buffer, static_cast<std::size_t>(n));
  }
  return read;
});

Job<std::string_view, std::string> view_reverse("test.view-reverse", [](const std::string_view& in) {
  return std::string(in.rbegin(), in.rend());
});

Job<std::span<const std::uint8_t>, std::uint64_t> span_sum("test.span-sum",
                                                           [](const std::span<const std::uint8_t>& in) {
                                                             std::uint64_t sum = 0;
                                                             for (auto b : in) sum += b;
                                                             return sum;
                                                           });

Job<std::span<const std::uint8_t>, std::span<const std::uint8_t>> echo_span(
    "test.echo-span", [](const std::span<const std::uint8_t>& in) { return in; });

Job<std::string_view, std::string_view> view_tail("test.view-tail", [](const std::string_view& in) {
  return in.empty() ? in : in.substr(1);
});

Job<std::string_view, std::string_view> view_static("test.view-static", [](const std::string_view&) {
  return std::string_view("static bytes");
});

Job<std::string, std::string_view> owned_head("test.owned-head",
                                              [](const std::string& in) { return std::string_view(in).substr(0, 3); });

std::string_view preset_output;
Job<std::string_view, std::string_view> returns_preset("test.returns-preset",
                                                       [](const std::string_view&) { return preset_output; });

Job<std::string_view, std::string> spin_view("test.spin-view", [](const std::string_view&) -> std::string {
  std::atomic<std::uint64_t> n{0};
  for (;;) n.fetch_add(1, std::memory_order_relaxed);
});

Job<std::string_view, std::string> view_mapping("test.view-mapping", [](const std::string_view& in) {
  // The mapping (pathname column of /proc/self/maps) that contains the first byte of the input.
  const auto at = reinterpret_cast<std::uintptr_t>(in.data());
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) == 2 && at >= begin && at < end) {
      const auto path = line.find('/');
      return path == std::string::npos ? std::string("(anonymous)") : line.substr(path);
    }
  }
  return std::string("(not mapped)");
});

std::atomic<int> wait_for_stop_started{0};

Job<std::string, std::string> wait_for_stop("test.wait-for-stop", [](const std::string&, JobContext& context) {
  ++wait_for_stop_started;
  while (!context.stop_requested()) std::this_thread::yield();  // no sleep: return the instant stop is seen
  return std::string("stopped");
});

Job<nlohmann::json, std::string> report_progress("test.report-progress", [](const nlohmann::json& input,
                                                                            JobContext& context) {
  const auto total = input.at("total").get<std::uint64_t>();
  const auto pause = std::chrono::microseconds(input.value("sleep_us", 0));
  for (std::uint64_t done = 1; done <= total; ++done) {
    context.report_progress(done, total);
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  if (input.at("then") == "wait") {
    while (!context.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::string("stopped");
  }
  return "reported " + std::to_string(total);
});

/// How a job that plays a broken worker corrupts its channel (fd 3).
enum class Scribble { response_past_the_segment, bad_magic };

void scribble_over_channel([[maybe_unused]] Scribble how) {
#ifdef ISOLATE_TEST_PROCESS_BACKEND
  auto segment = detail::SharedMemory::adopt(::dup(3));
  auto& header = detail::header_of(segment);
  if (how == Scribble::bad_magic) {
    header.magic = 0xBAD;
    return;
  }
  header.response_kind = static_cast<std::uint32_t>(detail::ResponseKind::value);
  header.record_size = std::uint64_t{1} << 40;
  header.state.store(static_cast<std::uint32_t>(detail::SegmentState::responded));
#else
  throw std::logic_error("no channel: built without the process backend");
#endif
}

Job<std::string, std::string> corrupt_response("test.corrupt-response", [](const std::string&) -> std::string {
  scribble_over_channel(Scribble::response_past_the_segment);  // published as if answered
  std::_Exit(0);
});

namespace {
/// Recurses until the stack runs out (the limit is far below: it only keeps the compiler from
/// calling the recursion infinite).
[[gnu::noinline]] std::uint64_t overflow_stack(std::uint64_t depth, std::uint64_t limit) {
  volatile char frame[4096];
  frame[0] = static_cast<char>(depth);
  if (depth == limit) return 0;
  return overflow_stack(depth + 1, limit) + static_cast<std::uint64_t>(frame[0]);
}
/// Throws out of a noexcept function: std::terminate.
[[gnu::noinline]] void throw_from_noexcept(const std::string& why) noexcept {
  try {
    throw std::runtime_error(why);
  } catch (...) {
    std::rethrow_exception(std::current_exception());  // escapes the noexcept boundary
  }
}
}  // namespace

Job<std::string, std::string> crash_kind("test.crash-kind", [](const std::string& kind) -> std::string {
  if (kind == "segv") {
    // Not null: UBSan would report a null store and exit instead of letting the fault happen.
    volatile std::uintptr_t address = 64;  // volatile: the compiler must not see the constant
    auto* nowhere = reinterpret_cast<volatile int*>(address);
    *nowhere = 1;
  } else if (kind == "stack-overflow") {
    return std::to_string(overflow_stack(0, std::numeric_limits<std::uint64_t>::max()));
  } else if (kind == "abort") {
    std::abort();
  } else if (kind == "terminate") {
    throw_from_noexcept(kind);
  } else if (kind == "bus") {
    std::raise(SIGBUS);
  } else if (kind == "fpe") {
    std::raise(SIGFPE);
  } else if (kind == "ill") {
    std::raise(SIGILL);
  } else if (kind == "kill") {
    std::raise(SIGKILL);
  } else if (kind == "exit-0") {
    std::exit(0);
  } else if (kind == "exit-3") {
    std::_Exit(3);
  } else if (kind == "bad-alloc") {
    throw std::bad_alloc();
  } else if (kind == "throw-int") {
    throw 7;
  } else if (kind == "scribble") {
    scribble_over_channel(Scribble::bad_magic);
    return "scribbled";
  }
  return "unknown kind " + kind;
});

}  // namespace isolate::test
