// async_bench — what asynchronous use and progress reports cost, each beside its synchronous or
// silent baseline measured in the same run, interleaved (bench/isolate_bench.cpp's Interleaved):
// - a pool round trip awaited by a coroutine (async_run + use_awaitable) beside pool.run().get();
// - a SAX parse that reports its progress at every value (about a million reports) beside the
//   same parse reporting nothing, both on a pool worker, the first with a callback;
// - 10,000 concurrent async_run calls completed on one io_context thread beside 10,000 pool
//   futures waited for in turn, with the process's peak thread count during each.
#include <isolate/asio.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "interleaved.hpp"
#include "json_document.hpp"
#include "proc_status.hpp"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using isolate::bench::Interleaved;
using isolate::bench::seconds_of;

isolate::Job<std::string, std::string> noop("async-bench.noop", [](const std::string& s) { return s; });

/// Counts the values of a JSON document; with Reporting, reports each one as progress.
template <bool Reporting>
class ValueCounter : public nlohmann::json_sax<nlohmann::json> {
 public:
  ValueCounter(isolate::JobContext& context, std::uint64_t total) : context_(context), total_(total) {}
  std::uint64_t values = 0;

  bool null() override { return count(); }
  bool boolean(bool) override { return count(); }
  bool number_integer(number_integer_t) override { return count(); }
  bool number_unsigned(number_unsigned_t) override { return count(); }
  bool number_float(number_float_t, const string_t&) override { return count(); }
  bool string(string_t&) override { return count(); }
  bool binary(binary_t&) override { return count(); }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return count(); }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return count(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override { throw e; }

 private:
  bool count() {
    ++values;
    if constexpr (Reporting) context_.report_progress(values, total_);
    return true;
  }
  isolate::JobContext& context_;
  std::uint64_t total_;
};

template <bool Reporting>
std::uint64_t count_values(const std::string_view& text, isolate::JobContext& context) {
  ValueCounter<Reporting> counter(context, 1'000'000);
  nlohmann::json::sax_parse(text, &counter);
  return counter.values;
}

isolate::Job<std::string_view, std::uint64_t> count_silently("async-bench.count", count_values<false>);
isolate::Job<std::string_view, std::uint64_t> count_reporting("async-bench.count-reporting", count_values<true>);

isolate::IsolatePool& pool() {
  static isolate::IsolatePool instance({.workers = 2, .backend = isolate::Backend::process});
  return instance;
}

/// The seconds one `co_await async_run(pool, ...)` takes inside a running coroutine.
double awaited_round_trip(asio::io_context& io) {
  double seconds = 0;
  asio::co_spawn(
      io,
      [&seconds]() -> asio::awaitable<void> {
        const auto t0 = Clock::now();
        auto out = co_await isolate::async_run(pool(), noop, std::string("x"), asio::use_awaitable);
        seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        benchmark::DoNotOptimize(out);
      },
      asio::detached);
  io.run();
  io.restart();
  return seconds;
}

void BM_AsyncPoolRoundTrip(benchmark::State& state) {
  asio::io_context io;
  (void)pool().run(noop, std::string("warm")).get();
  Interleaved ways;
  ways.add("pool_get", [] { return seconds_of([] { return pool().run(noop, std::string("x")).get(); }); });
  ways.add("async_awaitable", [&io] { return awaited_round_trip(io); });
  ways.run(state);
}
BENCHMARK(BM_AsyncPoolRoundTrip)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(20000);

const std::string& document() {
  static const std::string text = isolate::examples::make_json_document(16'000'000);
  return text;
}

void BM_ProgressReports(benchmark::State& state) {
  const std::string_view text = document();
  std::atomic<std::uint64_t> delivered{0};
  const isolate::ProgressCallback callback = [&delivered](const isolate::Progress&) { ++delivered; };
  std::uint64_t values = 0;
  for (int i = 0; i < 2; ++i) {  // warm both workers' heaps
    values = pool().run(count_silently, text).get();
    (void)pool().run(count_reporting, text, {}, callback).get();
  }
  Interleaved ways;
  ways.add("silent", [&] { return seconds_of([&] { return pool().run(count_silently, text).get(); }); });
  ways.add("reporting",
           [&] { return seconds_of([&] { return pool().run(count_reporting, text, {}, callback).get(); }); });
  ways.run(state);
  state.counters["reports_per_job"] = static_cast<double>(values);
  state.counters["callbacks_per_job"] =
      static_cast<double>(delivered.load()) / static_cast<double>(state.iterations() + 2);
}
BENCHMARK(BM_ProgressReports)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(30);

/// This process's thread count.
int thread_count() { return static_cast<int>(isolate::bench::proc_status_number("self", "Threads:")); }

constexpr int kConcurrent = 10'000;

/// 10,000 async_run calls in flight at once, all completed on this thread's io_context.
double concurrent_async(int& peak_threads) {
  asio::io_context io;
  int completed = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < kConcurrent; ++i) {
    isolate::async_run(pool(), noop, std::string("x"),
                       asio::bind_executor(io, [&](std::exception_ptr error, const std::string&) {
                         if (error) std::rethrow_exception(error);
                         if (++completed % 500 == 0) peak_threads = std::max(peak_threads, thread_count());
                       }));
  }
  io.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (completed != kConcurrent) std::abort();
  return seconds;
}

/// The same 10,000 jobs as pool futures, waited for in turn.
double concurrent_futures(int& peak_threads) {
  std::vector<std::future<std::string>> futures;
  futures.reserve(kConcurrent);
  const auto t0 = Clock::now();
  for (int i = 0; i < kConcurrent; ++i) futures.push_back(pool().run(noop, std::string("x")));
  for (int i = 0; i < kConcurrent; ++i) {
    (void)futures[static_cast<std::size_t>(i)].get();
    if ((i + 1) % 500 == 0) peak_threads = std::max(peak_threads, thread_count());
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void BM_TenThousandConcurrent(benchmark::State& state) {
  (void)pool().run(noop, std::string("warm")).get();
  int futures_peak = 0;
  int async_peak = 0;
  Interleaved ways;
  ways.add("futures", [&] { return concurrent_futures(futures_peak); });
  ways.add("async_one_thread", [&] { return concurrent_async(async_peak); });
  ways.run(state);
  state.counters["futures_peak_threads"] = futures_peak;
  state.counters["async_peak_threads"] = async_peak;
}
BENCHMARK(BM_TenThousandConcurrent)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
