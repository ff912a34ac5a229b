// http_bench — isolate::http beside curl, Node's fetch and Python's urllib, on servers on
// 127.0.0.1, every comparison interleaved (one sample of each way per iteration, medians):
//
//   BM_Download256MB     a 256 MB body from nginx: ours (the body to a sink, as curl -o
//                        /dev/null; and into Response::body) against curl, Node's fetch and
//                        Python's urllib (the last two timed inside their process)
//   BM_CancelToClosed    a token cancel (ours) or AbortController.abort() (Node) on a transfer
//                        that is streaming its body, to the server seeing the connection closed
//   BM_FetchAndParse100MB  a 100 MB JSON document fetched and parsed: ours (pool worker, the body
//                        handed over, parsed in place with the json-stats job) against the sum of
//                        fetch alone and the same parse in-process alone, and against Node's
//                        fetch + JSON.parse and Python's urllib + json.loads
//
// Usage: http_bench [google-benchmark flags]; RIVALS_DIR (default: bench/rivals of the source
// tree) holds node_fetch.js and python_fetch.py.
#include <benchmark/benchmark.h>
#include <isolate/http.hpp>
#include <isolate/isolate.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "fault_server.hpp"
#include "interleaved.hpp"
#include "json_document.hpp"
#include "json_stats_job.hpp"
#include "nginx_server.hpp"
#include "process_helpers.hpp"

namespace {

using isolate::bench::Interleaved;
using isolate::bench::seconds_of;

std::string rivals_dir() {
  const char* dir = std::getenv("RIVALS_DIR");
  return dir != nullptr ? dir : ISOLATE_RIVALS_DIR;
}

/// Runs `command` and returns what it printed (trimmed); throws if it fails.
std::string output_of(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) out += buffer;
  if (::pclose(pipe.release()) != 0) throw std::runtime_error(command + " failed: " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

/// The servers and documents, made once for the whole program.
struct Fixture {
  isolate::test::TempDir root;
  std::unique_ptr<isolate::test::NginxServer> nginx;
  isolate::test::FaultServer faults;
  std::size_t json_bytes = 0;

  Fixture() {
    {
      std::string body(256u << 20, '\0');
      for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7919) % 26);
      std::ofstream(root / "body.bin", std::ios::binary) << body;
    }
    const std::string json = isolate::examples::make_json_document(100'000'000);
    json_bytes = json.size();
    std::ofstream(root / "doc.json", std::ios::binary) << json;
    nginx = std::make_unique<isolate::test::NginxServer>(root.path());
  }
  static Fixture& get() {
    static Fixture fixture;
    return fixture;
  }
};

void BM_Download256MB(benchmark::State& state) {
  auto& fixture = Fixture::get();
  const std::string url = fixture.nginx->url("/plain/body.bin");
  isolate::http::Client client;
  const std::string rivals = rivals_dir();
  Interleaved ways;
  ways.add("curl", [&] { return seconds_of([&] { return output_of("curl -sS -o /dev/null " + url); }); });
  ways.add("ours_sink", [&] {
    return seconds_of([&] {
      std::size_t bytes = 0;
      isolate::http::Request request{.url = url,
                                     .on_body = [&bytes](std::string_view chunk) { bytes += chunk.size(); }};
      client.send(std::move(request)).get();
      return bytes;
    });
  });
  ways.add("ours_body", [&] { return seconds_of([&] { return client.get(url).get().body.size(); }); });
  ways.add("node_fetch", [&] { return std::stod(output_of("node " + rivals + "/node_fetch.js download " + url)); });
  ways.add("python_urllib",
           [&] { return std::stod(output_of("/usr/bin/python3 " + rivals + "/python_fetch.py download " + url)); });
  ways.run(state);
}
BENCHMARK(BM_Download256MB)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);

/// Waits until the fault server has seen `count` connections closed; returns when the last closed.
std::int64_t closed_at(const isolate::test::FaultServer& server, int count) {
  if (!isolate::test::eventually([&] { return server.closed() >= count; }, std::chrono::seconds(20))) {
    throw std::runtime_error("the server never saw the connection closed");
  }
  return server.last_closed_ns();
}

void BM_CancelToClosed(benchmark::State& state) {
  auto& server = Fixture::get().faults;
  const std::string url = server.url("/drip");
  isolate::http::Client client;
  const std::string rivals = rivals_dir();
  Interleaved ways;
  ways.add("node_abort", [&] {
    const int closed = server.closed();
    const std::int64_t aborted = std::stoll(output_of("node " + rivals + "/node_fetch.js cancel " + url));
    return static_cast<double>(closed_at(server, closed + 1) - aborted) / 1e9;
  });
  ways.add("ours", [&] {
    const int closed = server.closed();
    isolate::CancellationToken token;
    std::atomic<bool> streaming{false};
    isolate::http::Request request{.url = url, .on_body = [&streaming](std::string_view) { streaming = true; }};
    auto future = client.send(std::move(request), token);
    while (!streaming) std::this_thread::sleep_for(std::chrono::microseconds(100));
    const std::int64_t cancelled = std::chrono::steady_clock::now().time_since_epoch().count();
    token.cancel();
    future.wait();
    return static_cast<double>(closed_at(server, closed + 1) - cancelled) / 1e9;
  });
  ways.run(state);
}
BENCHMARK(BM_CancelToClosed)->UseManualTime()->Iterations(21)->Unit(benchmark::kMicrosecond);

void BM_FetchAndParse100MB(benchmark::State& state) {
  auto& fixture = Fixture::get();
  // Never compressed: every client gets the same bytes (nginx would gzip JSON for those that
  // ask, ours and Node's, on the fly, and not for Python's).
  const std::string url = fixture.nginx->url("/plain/doc.json");
  isolate::http::Client client;
  isolate::IsolatePool pool({.workers = 1});
  (void)pool.run(isolate::cli::json_stats, std::string_view("[1]")).get();  // the worker is up
  const std::string rivals = rivals_dir();
  const auto& parse = *isolate::cli::json_stats.function();
  Interleaved ways;
  ways.add("fetch_plus_parse_in_process", [&] {
    std::string body;
    const double fetch = seconds_of([&] {
      body = client.get(url).get().body;
      return body.size();
    });
    body.reserve(body.size() + 64);  // simdjson's padding, readable past the end
    isolate::JobContext context({}, 64);
    const double in_process = seconds_of([&] { return parse(std::string_view(body), context); });
    return fetch + in_process;
  });
  ways.add("ours_pool", [&] {
    return seconds_of([&] {
      isolate::http::Response response = client.get(url).get();
      return pool.run(isolate::cli::json_stats, std::move(response.body)).get();
    });
  });
  ways.add("node_fetch_json_parse", [&] {
    return std::stod(output_of("node --max-old-space-size=8192 " + rivals + "/node_fetch.js parse " + url));
  });
  ways.add("python_urllib_json_loads",
           [&] { return std::stod(output_of("/usr/bin/python3 " + rivals + "/python_fetch.py parse " + url)); });
  ways.run(state);
  state.counters["document_bytes"] = static_cast<double>(fixture.json_bytes);
}
BENCHMARK(BM_FetchAndParse100MB)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
