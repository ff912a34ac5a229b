// isolate-run — run heavy work off the main process, killable at once.
//
//   isolate-run json-stats [FILE|-|URL] [--timeout DURATION] [--backend process|thread] [--max-bytes SIZE]
//                          [--memory-limit SIZE] [--cpu-limit DURATION] [--no-sandbox] [--json] [--worker PATH]
//
// Parses a JSON document in a sandboxed worker process (isolate-worker, installed beside this
// program, or this program itself) and prints what is in it. Ctrl-C or the
// timeout kills the worker at once (and stops the read of the input, if it is still being read,
// or its download: an http:// or https:// URL is fetched into a memfd the worker maps);
// the parse may use at most --memory-limit and --cpu-limit. The worker reads the document from
// the fd this process opened and reaches nothing else: no file, no network, no new process
// (isolate::Sandbox; --no-sandbox parses without it). Exit codes: 0 ok, 64 usage, 65 malformed
// document, 66 unreadable or too large input, 69 the worker could not be run (or sandboxed), 70
// the worker crashed or ran out of memory, 75 the parse went over --memory-limit or --cpu-limit,
// 76 the sandbox killed the parse, 124 timed out, 130 interrupted.
#include <isolate/isolate.hpp>

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

#include "download.hpp"
#include "json_stats_job.hpp"
#include "progress_bar.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitDataError = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitUnavailable = 69;
constexpr int kExitCrashed = 70;
constexpr int kExitLimit = 75;
constexpr int kExitSandboxViolation = 76;
constexpr int kExitTimeout = 124;
constexpr int kExitInterrupted = 130;

/// "250ms", "1.5s", "2m", "1h", or a bare number of seconds.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [unit, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string_view suffix(unit, static_cast<std::size_t>(last - unit));
  double seconds;
  if (suffix.empty() || suffix == "s") {
    seconds = value;
  } else if (suffix == "ms") {
    seconds = value / 1e3;
  } else if (suffix == "us") {
    seconds = value / 1e6;
  } else if (suffix == "m") {
    seconds = value * 60;
  } else if (suffix == "h") {
    seconds = value * 3600;
  } else {
    return std::nullopt;
  }
  if (seconds > 1e9) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
}

/// Cancels `token` when SIGINT or SIGTERM arrives. The signals are blocked in every thread
/// (the runner's threads start after this), and this thread takes them with sigwait; the
/// destructor wakes it with SIGUSR1 (blocked too), so the tool never waits for a polling tick.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(isolate::CancellationToken token) : token_(std::move(token)) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&signals_, &sig) == 0 && sig != SIGUSR1) {
        if (sig == SIGINT || sig == SIGTERM) {
          token_.cancel(sig == SIGINT ? "interrupted (Ctrl-C)" : "terminated (SIGTERM)");
          return;
        }
      }
    });
  }
  ~InterruptWatcher() {
    // The thread may have returned already (a signal came): a pending SIGUSR1 then stays
    // blocked and unseen until exit.
    ::pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  isolate::CancellationToken token_;
  sigset_t signals_{};
  std::thread thread_;
};

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof out, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return out;
}

/// "1048576", "512K", "100M", "1.5G", "2GiB" (powers of 1024).
std::optional<std::uint64_t> parse_size(const std::string& text) {
  double value = 0;
  const char* last = text.data() + text.size();
  auto [unit, ec] = std::from_chars(text.data(), last, value);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string suffix(unit, last);
  if (suffix.ends_with("iB")) suffix.resize(suffix.size() - 2);
  if (suffix.size() > 1 && suffix.back() == 'B') suffix.pop_back();
  const std::string units = "KMGT";
  double scale = 1;
  if (suffix.size() == 1 && units.find(suffix[0]) != std::string::npos) {
    scale = std::pow(1024.0, static_cast<double>(units.find(suffix[0]) + 1));
  } else if (!suffix.empty() && suffix != "B") {
    return std::nullopt;
  }
  const double bytes = value * scale;
  if (bytes > 1e18) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

/// Half of this machine's memory: the default --max-bytes.
std::uint64_t half_of_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 2
                               : std::uint64_t{1} << 32;
}

/// Prints "isolate-run: <text>" on stderr, cut to 400 characters: a message never floods a
/// terminal, whatever a document or an error holds.
void report(std::string text) {
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  std::fprintf(stderr, "isolate-run: %s\n", text.c_str());
}

/// Opens `path` ("-": standard input, duplicated) for reading; -1 and errno if it cannot. May
/// block (a FIFO waits for a writer): the caller stays cancellable meanwhile.
int open_input(const std::string& path) {
  return path == "-" ? ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

void print_stats(const nlohmann::json& s, const std::string& source, double wall_seconds, bool in_process,
                 bool sandboxed) {
  const auto bytes = s.at("bytes").get<double>();
  const auto parse = s.at("parse_seconds").get<double>();
  std::printf("%s\n", source.c_str());
  std::printf("  bytes        %s (%.0f)\n", human_bytes(bytes).c_str(), bytes);
  for (const char* key : {"objects", "arrays", "strings", "numbers", "booleans", "nulls", "max_depth"}) {
    std::printf("  %-12s %llu\n", key, static_cast<unsigned long long>(s.at(key).get<std::uint64_t>()));
  }
  std::printf("  parse time   %.3f s (%.0f MB/s)\n", parse, parse > 0 ? bytes / parse / 1e6 : 0.0);
  std::printf("  %-12s %s peak\n", in_process ? "RSS (here)" : "worker RSS",
              human_bytes(s.at("peak_rss_bytes").get<double>()).c_str());
  std::printf("  wall time    %.3f s (read, hand over, parse, answer)\n", wall_seconds);
  std::printf("  sandbox      %s\n", sandboxed ? "on (the worker reached no file, network or new process)"
                                               : (in_process ? "none (parsed in this process)" : "off (--no-sandbox)"));
}

struct Options {
  std::string file;
  std::optional<std::chrono::nanoseconds> timeout;
  isolate::Backend backend = isolate::Backend::process;
  std::string worker;
  bool as_json = false;
  std::uint64_t max_bytes = 0;
  isolate::Limits limits;
  bool sandbox = true;  // with the process backend
};

/// What the user hears when the token ends the command: its exit code and message.
int report_cancel(const std::string& name, const isolate::CancelledException& e, const char* what_stopped) {
  const bool timed_out = dynamic_cast<const isolate::TimeoutException*>(&e) != nullptr;
  report(name + ": " + e.what() + "; " + what_stopped);
  return timed_out ? kExitTimeout : kExitInterrupted;
}

/// Erases the progress bar when the run ends, however it ends, before anything is printed.
struct EraseBar {
  isolate::cli::ProgressBar& bar;
  ~EraseBar() { bar.clear(); }
};

/// Downloads options.file into a memfd (a bar on the terminal if `show_bar`) and returns it; or,
/// after saying why, minus the exit code.
int fetch(const Options& options, const isolate::CancellationToken& token, bool show_bar) {
  isolate::cli::ProgressBar bar(stderr, "fetch");
  isolate::ProgressCallback on_progress;
  if (show_bar) on_progress = [&bar](const isolate::Progress& progress) { bar.update(progress); };
  try {
    const EraseBar erase_bar{bar};
    return isolate::cli::download(options.file, token, options.max_bytes, std::move(on_progress));
  } catch (const isolate::CancelledException& e) {
    return -report_cancel(options.file, e, "the download was stopped");
  } catch (const std::exception& e) {  // HttpError, a status other than 200, a memfd error
    report(options.file + ": cannot fetch it: " + e.what());
    return -kExitNoInput;
  }
}

int json_stats(const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  isolate::CancellationToken interrupt;
  InterruptWatcher watcher(interrupt);
  // --timeout counts from the command's start: reading the input is part of it.
  isolate::CancellationToken token = interrupt;
  if (options.timeout) token = interrupt.merge({isolate::TimeoutCancellationToken(*options.timeout)});
  const std::string name = options.file == "-" ? "(stdin)" : options.file;
  // On a terminal the download's and the job's own reports draw bars on stderr; piped or --json
  // output gets nothing but the result.
  const bool show_bars = !options.as_json && ::isatty(STDOUT_FILENO) != 0 && ::isatty(STDERR_FILENO) != 0;
  int fd = -1;
  if (isolate::cli::is_url(options.file)) {
    fd = fetch(options, token, show_bars);
    if (fd < 0) return -fd;  // an exit code
  } else {
    // Opening may block for ever (a FIFO without a writer): a Ctrl-C or the timeout then ends the
    // tool at once, from the thread that cancels. No worker exists yet.
    auto while_opening = token.on_cancel([&name](const std::exception_ptr& e) {
      try {
        std::rethrow_exception(e);
      } catch (const isolate::CancelledException& cancel) {
        std::_Exit(report_cancel(name, cancel, "stopped while opening the input"));
      } catch (...) {
        std::_Exit(kExitInterrupted);
      }
    });
    fd = open_input(options.file);
    if (fd < 0) {
      report("cannot read " + (options.file == "-" ? std::string("standard input") : options.file) + ": " +
             std::strerror(errno));
      return kExitNoInput;
    }
  }
  const bool in_process = options.backend == isolate::Backend::thread;
  const char* what_stopped = in_process ? "the parse was stopped" : "the worker was killed";
  isolate::RunOptions run_options{.backend = options.backend,
                                  .worker_executable = options.worker,
                                  .limits = options.limits,
                                  .sandbox = {.enabled = options.sandbox}};
  isolate::cli::ProgressBar bar(stderr, "parse");
  if (show_bars) {
    run_options.on_progress = [&bar](const isolate::Progress& progress) { bar.update(progress); };
  }
  try {
    const EraseBar erase_bar{bar};  // before the catch blocks below report
    // The worker reads the document itself (a file mapped, a pipe read to its end): its bytes
    // never pass through this process, and the token kills the worker mid-read too.
    decltype(isolate::CancellableIsolate::run(isolate::cli::json_stats, isolate::FileInput{}, token)) run;
    try {
      run = isolate::CancellableIsolate::run(isolate::cli::json_stats, isolate::FileInput{fd, options.max_bytes}, token,
                                             run_options);
    } catch (const std::invalid_argument& e) {  // an option out of range (--memory-limit too small)
      ::close(fd);
      report(e.what());
      return kExitUsage;
    }
    ::close(fd);
    auto stats = run.get();
    bar.clear();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.as_json) {
      stats["file"] = name;
      stats["wall_seconds"] = wall;
      stats["sandboxed"] = options.sandbox;
      // A file name need not be UTF-8: never fail (or print nothing) for it.
      std::printf("%s\n", stats.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      print_stats(stats, name, wall, in_process, options.sandbox);
    }
    return 0;
  } catch (const isolate::CancelledException& e) {
    return report_cancel(name, e, what_stopped);
  } catch (const isolate::InputError& e) {
    report(name + ": " + e.what());
    return kExitNoInput;
  } catch (const isolate::ResourceLimitExceeded& e) {
    report(name + ": the parse was stopped: " + e.what());
    return kExitLimit;
  } catch (const isolate::SandboxViolation& e) {
    report(name + ": the parse was stopped: " + e.what());
    return kExitSandboxViolation;
  } catch (const std::invalid_argument& e) {
    report(name + " cannot be parsed: " + e.what());
    return kExitDataError;
  } catch (const isolate::WorkerCrashed& e) {
    report(name + ": the worker crashed: " + e.what());
    return kExitCrashed;
  } catch (const std::bad_alloc&) {
    report(name + (in_process ? ": the parse ran out of memory" : ": the worker ran out of memory"));
    return kExitCrashed;
  } catch (const isolate::JobError& e) {
    report(name + ": the parse failed: " + e.what());
    return kExitCrashed;
  } catch (const isolate::IsolateError& e) {
    report(name + ": the worker could not be run: " + e.what());
    return kExitUnavailable;
  } catch (const std::exception& e) {
    report(name + ": the parse failed: " + e.what());
    return kExitCrashed;
  }
}

/// --memory-limit and --cpu-limit into `limits` (unset: no limit). False, after saying why, for
/// a value that does not parse.
bool parse_limits(const std::string& memory_text, const std::string& cpu_text, isolate::Limits& limits) {
  if (!memory_text.empty()) {
    const auto bytes = parse_size(memory_text);
    if (!bytes) {
      report("--memory-limit " + memory_text + ": expected a size such as 256M or 2G");
      return false;
    }
    limits.memory_bytes = *bytes;
  }
  if (!cpu_text.empty()) {
    const auto cpu = parse_duration(cpu_text);
    if (!cpu || *cpu < std::chrono::milliseconds(1)) {
      report("--cpu-limit " + cpu_text + ": expected a duration of at least 1ms such as 500ms or 2s");
      return false;
    }
    limits.cpu_time = std::chrono::duration_cast<std::chrono::milliseconds>(*cpu);
  }
  return true;
}

/// The worker a run starts unless --worker names one: isolate-worker installed beside this
/// program (built and installed with it), else this program itself. isolate-worker maps 7 shared
/// libraries where isolate-run, with libcurl's, maps 38: a worker start here took ~20 ms less
/// (json-stats on 200 MB: 99 ms outside the parse instead of 120), and the worker that parses a
/// hostile document has no network, TLS or LDAP library in its address space.
std::string default_worker() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return {};
  auto beside = self.parent_path() / "isolate-worker";
  return ::access(beside.c_str(), X_OK) == 0 ? beside.string() : std::string();
}

/// The tool itself (main() adds the worker dispatch and a last-resort catch).
int run_tool(int argc, char** argv) {
  CLI::App app{"isolate-run: run heavy work in a worker process that is killed the instant you cancel"};
  app.require_subcommand(1);
  auto* stats = app.add_subcommand("json-stats", "Parse a JSON document in a worker process and print its statistics");
  Options options;
  std::string timeout_text;
  std::string backend_text = "process";
  std::string max_bytes_text;
  std::string memory_limit_text;
  std::string cpu_limit_text;
  stats->add_option("file", options.file, "The document: a file, - for standard input, or an http(s):// URL");
  stats->add_option("--timeout", timeout_text,
                    "Stop after this long, counted from the start (reading included): 500ms, 2s, 1.5m (exit code 124)");
  stats->add_option("--backend", backend_text, "Where the parse runs")->check(CLI::IsMember({"process", "thread"}));
  stats->add_option("--worker", options.worker,
                    "Worker executable (default: isolate-worker beside this program, else isolate-run itself)");
  stats->add_option(
      "--max-bytes", max_bytes_text,
      "Refuse an input larger than this: 100M, 2G (default: half of this machine's memory; exit code 66)");
  stats->add_option("--memory-limit", memory_limit_text,
                    "Memory the parse may allocate, its input aside: 256M, 2G (at least 16M; exit code 75)");
  stats->add_option("--cpu-limit", cpu_limit_text, "CPU time the parse may use: 500ms, 2s (exit code 75)");
  bool no_sandbox = false;
  stats->add_flag("--no-sandbox", no_sandbox,
                  "Parse without the sandbox (by default the worker reaches no file, network or new process)");
  stats->add_flag("--json", options.as_json, "Print the statistics as JSON");
  stats->footer(
      "Ctrl-C kills the worker at once (exit code 130).\n"
      "Exit codes: 0 ok, 64 usage, 65 malformed JSON, 66 unreadable or too large input, 69 worker could not run,\n"
      "70 worker crashed or ran out of memory, 75 over --memory-limit or --cpu-limit, 76 killed by the sandbox,\n"
      "124 timeout, 130 interrupted.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (options.file.empty()) {
    if (::isatty(STDIN_FILENO)) {
      std::fprintf(
          stderr,
          "isolate-run json-stats parses a JSON document in a separate worker process, so a huge or\n"
          "hostile document cannot take this process down, and Ctrl-C or --timeout kills the parse at once.\n\n"
          "  isolate-run json-stats big.json\n"
          "  isolate-run json-stats big.json --timeout 2s --json\n"
          "  isolate-run json-stats https://example.org/data.json --timeout 30s\n"
          "  curl -s https://example.org/data.json | isolate-run json-stats -\n\n"
          "%s",
          stats->help().c_str());
      return kExitUsage;
    }
    options.file = "-";
  }
  if (!timeout_text.empty()) {
    options.timeout = parse_duration(timeout_text);
    if (!options.timeout) {
      report("--timeout " + timeout_text + ": expected a duration such as 500ms, 2s or 1.5m");
      return kExitUsage;
    }
  }
  options.max_bytes = half_of_memory();
  if (!max_bytes_text.empty()) {
    const auto max_bytes = parse_size(max_bytes_text);
    if (!max_bytes) {
      report("--max-bytes " + max_bytes_text + ": expected a size such as 100M or 2G");
      return kExitUsage;
    }
    options.max_bytes = *max_bytes;
  }
  if (!parse_limits(memory_limit_text, cpu_limit_text, options.limits)) return kExitUsage;
  options.backend = backend_text == "thread" ? isolate::Backend::thread : isolate::Backend::process;
  if (options.worker.empty() && options.backend == isolate::Backend::process) options.worker = default_worker();
  // The thread backend parses in this process: there is no worker to sandbox.
  options.sandbox = !no_sandbox && options.backend == isolate::Backend::process;
  if (options.sandbox && !isolate::Sandbox::available()) {
    report(
        "the sandbox cannot be enforced on this machine (Landlock ABI 3 and seccomp are needed): --no-sandbox "
        "parses without it");
    return kExitUnavailable;
  }
  return json_stats(options);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  try {
    return run_tool(argc, argv);
  } catch (const std::exception& e) {  // a bug of the tool's own: say so, never std::terminate
    report(std::string("internal error: ") + e.what());
    return kExitCrashed;
  }
}
