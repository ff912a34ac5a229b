// isolate-run — run heavy work off the main process, killable at once.
//
//   isolate-run json-stats [FILE|-] [--timeout DURATION] [--backend process|thread] [--json]
//
// Parses a JSON document in a worker process and prints what is in it. Ctrl-C or the timeout
// kills the worker at once. Exit codes: 0 ok, 64 usage, 65 malformed document, 66 unreadable
// input, 69 the worker could not be run, 70 the worker crashed, 124 timed out, 130 interrupted.
#include <isolate/isolate.hpp>

#include <CLI/CLI.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include "json_stats_job.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitDataError = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitUnavailable = 69;
constexpr int kExitCrashed = 70;
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
/// (the runner's threads start after this), and this thread takes them with sigtimedwait.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(isolate::CancellationToken token) : token_(std::move(token)) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] {
      const timespec tick{0, 50'000'000};
      while (!stop_.load()) {
        const int sig = sigtimedwait(&signals_, nullptr, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
          interrupted_.store(sig);
          token_.cancel(sig == SIGINT ? "interrupted (Ctrl-C)" : "terminated (SIGTERM)");
          return;
        }
      }
    });
  }
  ~InterruptWatcher() {
    stop_.store(true);
    thread_.join();
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  isolate::CancellationToken token_;
  sigset_t signals_{};
  std::atomic<bool> stop_{false};
  std::atomic<int> interrupted_{0};
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

void print_stats(const nlohmann::json& s, const std::string& source, double wall_seconds) {
  const auto bytes = s.at("bytes").get<double>();
  const auto parse = s.at("parse_seconds").get<double>();
  std::printf("%s\n", source.c_str());
  std::printf("  bytes        %s (%.0f)\n", human_bytes(bytes).c_str(), bytes);
  for (const char* key : {"objects", "arrays", "strings", "numbers", "booleans", "nulls", "max_depth"}) {
    std::printf("  %-12s %llu\n", key, static_cast<unsigned long long>(s.at(key).get<std::uint64_t>()));
  }
  std::printf("  parse time   %.3f s (%.0f MB/s)\n", parse, parse > 0 ? bytes / parse / 1e6 : 0.0);
  std::printf("  worker RSS   %s peak\n", human_bytes(s.at("peak_rss_bytes").get<double>()).c_str());
  std::printf("  wall time    %.3f s (read, hand over, parse, answer)\n", wall_seconds);
}

int json_stats(const std::string& file, std::optional<std::chrono::nanoseconds> timeout, isolate::Backend backend,
               const std::string& worker, bool as_json) {
  isolate::CancellationToken interrupt;
  InterruptWatcher watcher(interrupt);
  std::string text;
  {
    std::ifstream in;
    std::istream* source = &std::cin;
    if (file != "-") {
      in.open(file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "isolate-run: cannot read %s: %s\n", file.c_str(), std::strerror(errno));
        return kExitNoInput;
      }
      in.seekg(0, std::ios::end);
      text.reserve(static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0)));
      in.seekg(0);
      source = &in;
    }
    text.assign(std::istreambuf_iterator<char>(*source), std::istreambuf_iterator<char>());
  }
  isolate::CancellationToken token = interrupt;
  if (timeout) token = interrupt.merge({isolate::TimeoutCancellationToken(*timeout)});
  isolate::RunOptions options{.backend = backend, .worker_executable = worker};
  const auto start = std::chrono::steady_clock::now();
  const std::string name = file == "-" ? "(stdin)" : file;
  try {
    auto stats = isolate::CancellableIsolate::run(isolate::cli::json_stats, std::move(text), token, options).get();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (as_json) {
      stats["file"] = name;
      stats["wall_seconds"] = wall;
      std::printf("%s\n", stats.dump(2).c_str());
    } else {
      print_stats(stats, name, wall);
    }
    return 0;
  } catch (const isolate::TimeoutException& e) {
    std::fprintf(stderr, "isolate-run: %s: %s; the worker was killed\n", name.c_str(), e.what());
    return kExitTimeout;
  } catch (const isolate::CancelledException& e) {
    std::fprintf(stderr, "isolate-run: %s: %s; the worker was killed\n", name.c_str(), e.what());
    return kExitInterrupted;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "isolate-run: %s is not valid JSON: %s\n", name.c_str(), e.what());
    return kExitDataError;
  } catch (const isolate::WorkerCrashed& e) {
    std::fprintf(stderr, "isolate-run: %s: the worker crashed: %s\n", name.c_str(), e.what());
    return kExitCrashed;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "isolate-run: %s: the worker ran out of memory\n", name.c_str());
    return kExitCrashed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isolate-run: %s: %s\n", name.c_str(), e.what());
    return kExitUnavailable;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;

  CLI::App app{"isolate-run: run heavy work in a worker process that is killed the instant you cancel"};
  app.require_subcommand(1);
  auto* stats = app.add_subcommand("json-stats", "Parse a JSON document in a worker process and print its statistics");
  std::string file;
  std::string timeout_text;
  std::string backend_text = "process";
  std::string worker;
  bool as_json = false;
  stats->add_option("file", file, "The document; - for standard input");
  stats->add_option("--timeout", timeout_text, "Kill the worker after this long: 500ms, 2s, 1.5m (exit code 124)");
  stats->add_option("--backend", backend_text, "Where the parse runs")->check(CLI::IsMember({"process", "thread"}));
  stats->add_option("--worker", worker, "Worker executable (default: isolate-run itself; or isolate-worker)");
  stats->add_flag("--json", as_json, "Print the statistics as JSON");
  stats->footer(
      "Ctrl-C kills the worker at once (exit code 130).\n"
      "Exit codes: 0 ok, 64 usage, 65 malformed JSON, 66 unreadable input, 69 worker could not run,\n"
      "70 worker crashed, 124 timeout, 130 interrupted.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (file.empty()) {
    if (::isatty(STDIN_FILENO)) {
      std::fprintf(stderr,
                   "isolate-run json-stats parses a JSON document in a separate worker process, so a huge or\n"
                   "hostile document cannot take this process down, and Ctrl-C or --timeout kills the parse at once.\n\n"
                   "  isolate-run json-stats big.json\n"
                   "  isolate-run json-stats big.json --timeout 2s --json\n"
                   "  curl -s https://example.org/data.json | isolate-run json-stats -\n\n"
                   "%s",
                   stats->help().c_str());
      return kExitUsage;
    }
    file = "-";
  }
  std::optional<std::chrono::nanoseconds> timeout;
  if (!timeout_text.empty()) {
    timeout = parse_duration(timeout_text);
    if (!timeout) {
      std::fprintf(stderr, "isolate-run: --timeout %s: expected a duration such as 500ms, 2s or 1.5m\n",
                   timeout_text.c_str());
      return kExitUsage;
    }
  }
  const auto backend = backend_text == "thread" ? isolate::Backend::thread : isolate::Backend::process;
  return json_stats(file, timeout, backend, worker, as_json);
}
