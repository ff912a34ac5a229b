// isolate_bench — what isolate costs, next to the physical limits measured in the same run.
//
// Every benchmark here is one operation per iteration (manual time where setup must not count);
// ./scripts/bench.sh runs this binary with repetitions and turns the medians into ratios against
// the baselines below and against the rival systems of ../shared/anchors, measured in the same
// run. Baselines in this binary: raw posix_spawn+exec+reap of this same executable, raw
// SIGKILL->reap of a spinning child, memcpy of the same sizes, and the same JSON parse done
// in-process.
#include <isolate/isolate.hpp>

#include <benchmark/benchmark.h>

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "interleaved.hpp"
#include "json_document.hpp"
#include "proc_status.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using isolate::bench::Interleaved;
using isolate::bench::seconds_of;
using namespace std::chrono_literals;

isolate::Job<std::string, std::string> noop("bench.noop", [](const std::string& s) { return s; });
isolate::Job<std::vector<std::uint8_t>, std::vector<std::uint8_t>> echo_bytes(
    "bench.echo", [](const std::vector<std::uint8_t>& bytes) { return bytes; });
isolate::Job<std::string, std::string> spin("bench.spin", [](const std::string& flag_file) -> std::string {
  std::ofstream(flag_file) << "running";
  std::atomic<std::uint64_t> n{0};
  for (;;) n.fetch_add(1, std::memory_order_relaxed);
});
isolate::Job<std::span<const std::uint8_t>, std::vector<std::uint8_t>> echo_view(
    "bench.echo-view",
    [](const std::span<const std::uint8_t>& bytes) { return std::vector<std::uint8_t>(bytes.begin(), bytes.end()); });
isolate::Job<std::span<const std::uint8_t>, std::span<const std::uint8_t>> echo_in_place(
    "bench.echo-in-place", [](const std::span<const std::uint8_t>& in) { return in; });
isolate::Job<std::int64_t, std::int64_t> alloc_mib("bench.alloc-mib", [](const std::int64_t& mib) {
  std::vector<char> block(static_cast<std::size_t>(mib) << 20);
  for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = 1;
  return mib;
});
isolate::Job<std::string, int> worker_pid("bench.pid", [](const std::string&) { return static_cast<int>(::getpid()); });
/// Minor page faults of this process so far.
std::uint64_t minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_minflt);
}

/// What one parse of the document gave, measured where it ran (in this process or in a worker).
struct ParseFigures {
  std::uint64_t values = 0;    // top-level elements
  std::uint64_t faults = 0;    // minor page faults the parse took
  std::uint64_t parse_us = 0;  // the parse alone: no spawn, no input or result transfer
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ParseFigures, values, faults, parse_us)

/// Parses `text`, counting its page faults and timing it.
ParseFigures parse_counting_faults(std::string_view text) {
  const auto faults = minor_faults();
  const auto start = std::chrono::steady_clock::now();
  const auto values = static_cast<std::uint64_t>(nlohmann::json::parse(text).size());
  const auto took = std::chrono::steady_clock::now() - start;
  return {values, minor_faults() - faults,
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count())};
}

isolate::Job<std::string, ParseFigures> parse_count("bench.parse", [](const std::string& text) {
  return parse_counting_faults(text);
});
isolate::Job<std::string_view, ParseFigures> parse_view("bench.parse-view", [](const std::string_view& text) {
  return parse_counting_faults(text);
});

/// Reports the median of per-iteration samples (the anchors report medians; a mean over a few
/// hundred kills is dominated by the odd slow one on this shared VM).
void report_median(benchmark::State& state, std::vector<double>& seconds) {
  if (seconds.empty()) return;
  std::sort(seconds.begin(), seconds.end());
  const auto mid = seconds.size() / 2;
  const double median = seconds.size() % 2 == 1 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2;
  state.counters["median_us"] = median * 1e6;
}

const isolate::RunOptions kProcess{.backend = isolate::Backend::process};

pid_t spawn_self(const char* mode, const char* argument = nullptr) {
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, const_cast<char*>(mode), const_cast<char*>(argument), nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, exe, nullptr, nullptr, argv, environ) != 0) std::abort();
  return pid;
}

std::filesystem::path flag_path() {
  return std::filesystem::temp_directory_path() / ("isolate-bench-" + std::to_string(::getpid()));
}

void wait_for_flag(const std::filesystem::path& flag) {
  while (!std::filesystem::exists(flag)) std::this_thread::sleep_for(50us);
  std::filesystem::remove(flag);
}

long rss_kib(pid_t pid) { return isolate::bench::proc_status_number(std::to_string(pid), "VmRSS:"); }

isolate::IsolatePool& pool() {
  static isolate::IsolatePool instance(isolate::PoolOptions{.workers = 2, .backend = isolate::Backend::process});
  return instance;
}

// ---- memory -----------------------------------------------------------------------------------

void BM_Rss(benchmark::State& state) {
  const pid_t worker = pool().run(worker_pid, std::string()).get();  // a warm worker, asked itself
  for (auto _ : state) benchmark::DoNotOptimize(worker);
  state.counters["parent_rss_MiB"] = static_cast<double>(rss_kib(::getpid())) / 1024;
  state.counters["worker_rss_MiB"] = worker != 0 ? static_cast<double>(rss_kib(worker)) / 1024 : 0;
}
BENCHMARK(BM_Rss)->Iterations(1);  // first: before any large payload grows the heaps

// ---- interleaved comparisons ----------------------------------------------------------------

// A cold run of a trivial job (spawn, attach, answer, reap) beside a raw posix_spawn + exec +
// waitpid of this same executable.
void BM_ColdRun(benchmark::State& state) {
  Interleaved ways;
  ways.add("raw_spawn", [] {
    return seconds_of([] {
      int status = 0;
      return ::waitpid(spawn_self("--bench-exit"), &status, 0);
    });
  });
  ways.add("run", [] {
    return seconds_of([] { return isolate::CancellableIsolate::run(noop, std::string("x"), {}, kProcess).get(); });
  });
  // What the worker's own PID namespace (relay -> init -> worker: two forks) costs a cold run.
  // The variable is read by the worker, which inherits it; runs are sequential here, so no spawn
  // reads the environment while it changes.
  ways.add("run_without_tree", [] {
    ::setenv("ISOLATE_NO_PROCESS_TREE", "1", 1);
    const double seconds =
        seconds_of([] { return isolate::CancellableIsolate::run(noop, std::string("x"), {}, kProcess).get(); });
    ::unsetenv("ISOLATE_NO_PROCESS_TREE");
    return seconds;
  });
  ways.run(state);
}
BENCHMARK(BM_ColdRun)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(300);

// A sandboxed cold run beside an unsandboxed one: what no_new_privs, the Landlock domain and the
// seccomp filter (built by libseccomp in the worker, then loaded) add to a run.
void BM_ColdRunSandboxed(benchmark::State& state) {
  static const isolate::RunOptions sandboxed{.backend = isolate::Backend::process, .sandbox = {.enabled = true}};
  Interleaved ways;
  ways.add("run", [] {
    return seconds_of([] { return isolate::CancellableIsolate::run(noop, std::string("x"), {}, kProcess).get(); });
  });
  ways.add("run_sandboxed", [] {
    return seconds_of([] { return isolate::CancellableIsolate::run(noop, std::string("x"), {}, sandboxed).get(); });
  });
  ways.run(state);
}
BENCHMARK(BM_ColdRunSandboxed)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(300);

// ---- warm pool --------------------------------------------------------------------------------

void BM_PoolRoundTrip(benchmark::State& state) {
  (void)pool().run(noop, std::string("warm")).get();
  for (auto _ : state) benchmark::DoNotOptimize(pool().run(noop, std::string("x")).get());
}
BENCHMARK(BM_PoolRoundTrip)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

// Small round trips while another caller keeps sending 64 MiB echoes through the other worker of
// the pool: a large response being read must not hold up the small jobs' completions. Reports
// the median and the 99th percentile of the small round trips.
void BM_PoolRoundTripBesideLargeResponses(benchmark::State& state) {
  (void)pool().run(noop, std::string("warm")).get();
  std::atomic<bool> stop{false};
  std::thread large([&stop] {
    std::vector<std::uint8_t> payload(std::size_t{64} << 20, 1);
    while (!stop.load(std::memory_order_relaxed)) payload = pool().run(echo_in_place, std::move(payload)).get();
  });
  std::vector<double> seconds;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(pool().run(noop, std::string("x")).get());
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  stop.store(true);
  large.join();
  report_median(state, seconds);
  state.counters["p99_us"] = seconds.empty() ? 0 : seconds[seconds.size() * 99 / 100] * 1e6;  // sorted
}
BENCHMARK(BM_PoolRoundTripBesideLargeResponses)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();

/// A pool of two whose jobs have limits (generous ones: they are never reached here).
isolate::IsolatePool& limited_pool() {
  static isolate::IsolatePool instance({.workers = 2,
                                        .backend = isolate::Backend::process,
                                        .limits = {.memory_bytes = std::size_t{1} << 30, .cpu_time = 10s}});
  return instance;
}

// A round trip on a pool with limits beside one without: the limits are set once per worker,
// and a job costs two timer_settime calls more (its CPU budget armed and disarmed).
void BM_PoolRoundTripWithLimits(benchmark::State& state) {
  (void)pool().run(noop, std::string("warm")).get();
  (void)limited_pool().run(noop, std::string("warm")).get();
  Interleaved ways;
  ways.add("pool", [] { return seconds_of([] { return pool().run(noop, std::string("x")).get(); }); });
  ways.add("pool_limits", [] { return seconds_of([] { return limited_pool().run(noop, std::string("x")).get(); }); });
  ways.run(state);
}
BENCHMARK(BM_PoolRoundTripWithLimits)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(20000);

/// A pool of two with the same limits and a sandbox.
isolate::IsolatePool& confined_pool() {
  static isolate::IsolatePool instance({.workers = 2,
                                        .backend = isolate::Backend::process,
                                        .limits = {.memory_bytes = std::size_t{1} << 30, .cpu_time = 10s},
                                        .sandbox = {.enabled = true}});
  return instance;
}

// A round trip on a pool with a sandbox and limits beside one without either: the sandbox is
// entered once per worker, and the filter runs on each system call a round trip makes.
void BM_PoolRoundTripSandboxed(benchmark::State& state) {
  (void)pool().run(noop, std::string("warm")).get();
  (void)confined_pool().run(noop, std::string("warm")).get();
  Interleaved ways;
  ways.add("pool", [] { return seconds_of([] { return pool().run(noop, std::string("x")).get(); }); });
  ways.add("pool_sandbox_limits",
           [] { return seconds_of([] { return confined_pool().run(noop, std::string("x")).get(); }); });
  ways.run(state);
}
BENCHMARK(BM_PoolRoundTripSandboxed)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(20000);

// How long after a limit is crossed the job's future holds ResourceLimitExceeded: a job that
// spins past a 50 ms CPU budget (the time over the budget), and one whose first allocation is
// over a 64 MiB memory limit (the whole run: the crossing is at its start). Pool jobs: each
// starts on a ready worker (the replacement of the one before is waited for, untimed).
void BM_LimitReported(benchmark::State& state) {
  static isolate::IsolatePool cpu_pool(
      {.workers = 1, .backend = isolate::Backend::process, .limits = {.cpu_time = 50ms}});
  static isolate::IsolatePool memory_pool(
      {.workers = 1, .backend = isolate::Backend::process, .limits = {.memory_bytes = std::size_t{64} << 20}});
  Interleaved ways;
  ways.add("cpu_after_budget", [] {
    (void)cpu_pool.run(noop, std::string("ready")).get();
    return seconds_of([] { return cpu_pool.run(spin, std::string()).wait_for(10s); }) - 0.050;
  });
  ways.add("memory", [] {
    (void)memory_pool.run(noop, std::string("ready")).get();
    return seconds_of([] { return memory_pool.run(alloc_mib, std::int64_t{256}).wait_for(10s); });
  });
  ways.run(state);
}
BENCHMARK(BM_LimitReported)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(20);

void BM_PoolThroughput(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::vector<std::future<std::string>> futures(batch);
  for (auto _ : state) {
    for (auto& f : futures) f = pool().run(noop, std::string("x"));
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_PoolThroughput)->Arg(20000)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// ---- cancel -----------------------------------------------------------------------------------

/// SIGKILL -> reaped of a spinning child of this executable, killed (as the jobs below) once it
/// says it spins: never while its loader still maps libraries.
double raw_kill_to_reaped() {
  const auto flag = flag_path();
  const pid_t pid = spawn_self("--bench-spin", flag.c_str());
  wait_for_flag(flag);
  const auto t0 = Clock::now();
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// cancel() -> future ready of a spinning job `start` began. The worker is reaped before the
/// future is ready, so this is also cancel -> worker reaped.
template <class Start>
double cancel_to_ready(Start start) {
  const auto flag = flag_path();
  isolate::CancellationToken token;
  auto f = start(flag.string(), token);
  wait_for_flag(flag);
  const auto t0 = Clock::now();
  token.cancel();
  f.wait();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void BM_CancelToReady(benchmark::State& state) {
  Interleaved ways;
  ways.add("raw_kill", raw_kill_to_reaped);
  ways.add("run", [] {
    return cancel_to_ready([](const std::string& flag, const isolate::CancellationToken& token) {
      return isolate::CancellableIsolate::run(spin, flag, token, kProcess);
    });
  });
  ways.add("pool", [] {
    return cancel_to_ready(
        [](const std::string& flag, const isolate::CancellationToken& token) { return pool().run(spin, flag, token); });
  });
  ways.run(state);
}
BENCHMARK(BM_CancelToReady)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

// ---- bulk data --------------------------------------------------------------------------------

// An n MiB echo through the pool, three ways, beside a memcpy of the same size (pre-touched
// buffers) and the floor of any echo that hands the caller a new buffer: a copy into freshly
// allocated memory, which the kernel must first zero page by page. Each echo hands its buffer
// over (moved in) and gets the echo back as the next buffer; `bytes` counts the payload once.
//   vector:   vector in, vector out: copied into the channel, out of it in the worker, back in,
//             and out again into a fresh vector.
//   view:     span in (written once into the channel, read there in place), a new vector out.
//   in_place: vector in, the worker answers with a span of its input (no copy in the worker),
//             decoded back into the caller's buffer: two copies per round trip.
void BM_Echo(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0)) << 20;
  auto a = std::make_shared<std::vector<std::uint8_t>>(n, 1);
  auto b = std::make_shared<std::vector<std::uint8_t>>(n, 2);
  auto payload = std::make_shared<std::vector<std::uint8_t>>(n, 7);
  for (int i = 0; i < 2; ++i) {  // grow both channels once
    *payload = pool().run(echo_in_place, std::move(*payload)).get();
    *payload = pool().run(echo_bytes, std::move(*payload)).get();
  }
  Interleaved ways;
  ways.add("memcpy", [a, b, n] {
    return seconds_of([&] {
      std::memcpy(b->data(), a->data(), n);
      benchmark::ClobberMemory();
      return b->data();
    });
  });
  ways.add("fresh_copy", [a, n] {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(a->data()), n);
    return seconds_of([&] { return isolate::detail::Codec<std::vector<std::uint8_t>>::decode(bytes).size(); });
  });
  ways.add("vector", [payload] {
    return seconds_of([&] { return (*payload = pool().run(echo_bytes, std::move(*payload)).get()).size(); });
  });
  ways.add("view", [a] {
    return seconds_of([&] { return pool().run(echo_view, std::span<const std::uint8_t>(*a)).get().size(); });
  });
  ways.add("in_place", [payload] {
    return seconds_of([&] { return (*payload = pool().run(echo_in_place, std::move(*payload)).get()).size(); });
  });
  ways.run(state);
  if (payload->size() != n || (*payload)[n / 2] != 7) state.SkipWithError("the echo changed the payload");
  state.counters["bytes"] = static_cast<double>(n);
}
BENCHMARK(BM_Echo)->Arg(64)->Arg(256)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(15);

// ---- the main job: a 100 MB JSON parse, offloaded vs in-process -------------------------------

const std::string& document() {
  static const std::string text = isolate::examples::make_json_document(100'000'000);
  return text;
}

// The same parse four ways, interleaved: in-process (the baseline; its heap warm from the
// previous round), on a pool worker with a string_view input (parsed in place in the shared
// segment) and with a std::string input (decoded into the worker's heap first), and as a
// one-shot run (a fresh worker: spawn, cold heap, parse, exit). Each way also notes the page
// faults of its parse and the parse's own duration, as measured where it ran ("<way>_faults",
// "<way>_parse_us"): the difference between a way's time and its parse's is isolate's part
// (spawn, input, result, reap), and a slow parse inside a fresh worker is its cold heap.
void BM_JsonParse(benchmark::State& state) {
  const auto& text = document();
  Interleaved ways;
  const auto timed = [&ways](const std::string& way, auto parse) {
    return [&ways, way, parse] {
      ParseFigures figures;
      const double seconds = seconds_of([&] { return (figures = parse()).values; });
      ways.note(way + "_faults", static_cast<double>(figures.faults));
      ways.note(way + "_parse_us", static_cast<double>(figures.parse_us));
      return seconds;
    };
  };
  ways.add("in_process", timed("in_process", [&text] { return parse_counting_faults(text); }));
  ways.add("pool_view", timed("pool_view", [&text] { return pool().run(parse_view, std::string_view(text)).get(); }));
  ways.add("pool_string", timed("pool_string", [&text] { return pool().run(parse_count, text).get(); }));
  ways.add("one_shot", timed("one_shot", [&text] {
             return isolate::CancellableIsolate::run(parse_view, std::string_view(text), {}, kProcess).get();
           }));
  for (int i = 0; i < 2; ++i) {  // warm: the in-process heap, both pool workers
    (void)parse_counting_faults(text);
    (void)pool().run(parse_view, std::string_view(text)).get();
  }
  ways.run(state);
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_JsonParse)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(7);

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (argc > 1 && std::strcmp(argv[1], "--bench-exit") == 0) return 0;
  if (argc > 2 && std::strcmp(argv[1], "--bench-spin") == 0) {
    std::ofstream(argv[2]) << "running";
    std::atomic<std::uint64_t> n{0};
    for (;;) n.fetch_add(1, std::memory_order_relaxed);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
