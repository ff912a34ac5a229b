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
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "json_document.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
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
isolate::Job<std::string, int> worker_pid("bench.pid", [](const std::string&) { return static_cast<int>(::getpid()); });
isolate::Job<std::string, std::uint64_t> parse_count("bench.parse", [](const std::string& text) {
  return static_cast<std::uint64_t>(nlohmann::json::parse(text).size());
});
isolate::Job<std::string_view, std::uint64_t> parse_view("bench.parse-view", [](const std::string_view& text) {
  return static_cast<std::uint64_t>(nlohmann::json::parse(text).size());
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

pid_t spawn_self(const char* mode) {
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, const_cast<char*>(mode), nullptr};
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

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
  }
  return 0;
}

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

// ---- cold run vs raw spawn ------------------------------------------------------------------

void BM_RawSpawnExecReap(benchmark::State& state) {
  for (auto _ : state) {
    const pid_t pid = spawn_self("--bench-exit");
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}
BENCHMARK(BM_RawSpawnExecReap)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_ColdRun(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(isolate::CancellableIsolate::run(noop, std::string("x"), {}, kProcess).get());
}
BENCHMARK(BM_ColdRun)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

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

void BM_RawKillReap(benchmark::State& state) {
  std::vector<double> samples;
  for (auto _ : state) {
    const pid_t pid = spawn_self("--bench-spin");
    std::this_thread::sleep_for(2ms);  // let it run
    const auto t0 = Clock::now();
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    samples.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    state.SetIterationTime(samples.back());
  }
  report_median(state, samples);
}
BENCHMARK(BM_RawKillReap)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

// cancel() -> future ready. The worker is reaped before the future is ready, so this is also
// cancel -> worker reaped.
template <class Start>
void cancel_benchmark(benchmark::State& state, Start start) {
  const auto flag = flag_path();
  std::vector<double> samples;
  for (auto _ : state) {
    isolate::CancellationToken token;
    auto f = start(flag.string(), token);
    wait_for_flag(flag);
    const auto t0 = Clock::now();
    token.cancel();
    f.wait();
    samples.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    state.SetIterationTime(samples.back());
  }
  report_median(state, samples);
}

void BM_CancelToReadyIsolate(benchmark::State& state) {
  cancel_benchmark(state, [](const std::string& flag, const isolate::CancellationToken& token) {
    return isolate::CancellableIsolate::run(spin, flag, token, kProcess);
  });
}
BENCHMARK(BM_CancelToReadyIsolate)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

void BM_CancelToReadyPool(benchmark::State& state) {
  cancel_benchmark(state, [](const std::string& flag, const isolate::CancellationToken& token) {
    return pool().run(spin, flag, token);
  });
}
BENCHMARK(BM_CancelToReadyPool)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

// ---- bulk data --------------------------------------------------------------------------------

void BM_Memcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0)) << 20;
  std::vector<std::uint8_t> a(n, 1), b(n, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

// The floor of any echo that hands the caller a new buffer: the copy into a freshly allocated
// vector, which the kernel must first zero page by page (the codecs' decode, huge pages and
// populate included). An echo also writes the payload into the channel once (BM_Memcpy).
void BM_FreshBufferCopy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0)) << 20;
  std::vector<std::uint8_t> source(n, 1);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(source.data()), n);
  for (auto _ : state)
    benchmark::DoNotOptimize(isolate::detail::Codec<std::vector<std::uint8_t>>::decode(bytes).data());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_FreshBufferCopy)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

/// Echoes an n MiB buffer through the pool, handing it over (moved in) and getting the echo back
/// as the next buffer; bytes/s counts the payload once (as the anchors' echo does).
template <class EchoJob>
void echo_handed_over(benchmark::State& state, const EchoJob& job) {
  const auto n = static_cast<std::size_t>(state.range(0)) << 20;
  std::vector<std::uint8_t> payload(n, 7);
  payload = pool().run(job, std::move(payload)).get();  // grow both channels once
  payload = pool().run(job, std::move(payload)).get();
  for (auto _ : state) payload = pool().run(job, std::move(payload)).get();
  if (payload.size() != n || payload[n / 2] != 7) state.SkipWithError("the echo changed the payload");
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// Vector in, vector out: the payload is copied into the channel, out of it in the worker, back
// into it, and out again into a fresh vector.
void BM_PoolEcho(benchmark::State& state) { echo_handed_over(state, echo_bytes); }
BENCHMARK(BM_PoolEcho)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

// The same echo with a span input: the caller's buffer is written once into the channel and the
// job reads it there in place; the echo comes back as a new vector.
void BM_PoolEchoView(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0)) << 20;
  const std::vector<std::uint8_t> payload(n, 7);
  const std::span<const std::uint8_t> view(payload);
  (void)pool().run(echo_view, view).get();  // grow both channels once
  (void)pool().run(echo_view, view).get();
  for (auto _ : state) benchmark::DoNotOptimize(pool().run(echo_view, view).get().data());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_PoolEchoView)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

// The zero-copy echo: the caller hands its buffer over (moved in), the worker returns a view of
// its input (in place in the channel, no copy in the worker), and the echo is decoded back into
// the caller's buffer (warm pages). The payload is copied twice per round trip: into the channel
// and out of it.
void BM_PoolEchoInPlace(benchmark::State& state) { echo_handed_over(state, echo_in_place); }
BENCHMARK(BM_PoolEchoInPlace)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

// ---- the mission: a 100 MB JSON parse, offloaded vs in-process --------------------------------

const std::string& document() {
  static const std::string text = isolate::examples::make_json_document(100'000'000);
  return text;
}

void BM_JsonParseInProcess(benchmark::State& state) {
  const auto& text = document();
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::parse(text).size());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_JsonParseInProcess)->Unit(benchmark::kMillisecond)->Iterations(3)->Repetitions(3);

void BM_JsonParseOffloaded(benchmark::State& state) {
  const auto& text = document();
  (void)pool().run(parse_count, std::string("[]")).get();
  for (auto _ : state) benchmark::DoNotOptimize(pool().run(parse_count, text).get());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_JsonParseOffloaded)->Unit(benchmark::kMillisecond)->Iterations(3)->Repetitions(3)->UseRealTime();

// The same parse with a std::string_view input: the worker parses the document in place in the
// shared segment.
void BM_JsonParseOffloadedView(benchmark::State& state) {
  const auto& text = document();
  (void)pool().run(parse_view, std::string_view("[]")).get();
  for (auto _ : state) benchmark::DoNotOptimize(pool().run(parse_view, std::string_view(text)).get());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_JsonParseOffloadedView)->Unit(benchmark::kMillisecond)->Iterations(3)->Repetitions(3)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (argc > 1 && std::strcmp(argv[1], "--bench-exit") == 0) return 0;
  if (argc > 1 && std::strcmp(argv[1], "--bench-spin") == 0) {
    std::atomic<std::uint64_t> n{0};
    for (;;) n.fetch_add(1, std::memory_order_relaxed);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
