#include <isolate/isolate.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// A job is a named function both sides know: define it at namespace scope.
isolate::Job<std::string, nlohmann::json> parse("example.parse",
                                                [](const std::string& text) { return nlohmann::json::parse(text); });
isolate::Job<int, int> runaway("example.runaway", [](const int& n) {
  volatile int spin = n;
  for (;;) spin = spin + 1;  // never returns: only a kill stops it
  return static_cast<int>(spin);
});

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;  // first line of main

  // Runs in a worker process (this program, re-executed); get() waits for its output.
  nlohmann::json doc = isolate::CancellableIsolate::run(parse, std::string(R"({"answer": 42})")).get();
  std::printf("parsed in a worker: answer = %d\n", doc["answer"].get<int>());

  // A timeout kills the worker the moment it fires: get() throws TimeoutException.
  try {
    (void)isolate::CancellableIsolate::run(runaway, 1, isolate::TimeoutCancellationToken(200ms)).get();
  } catch (const isolate::TimeoutException& e) {
    std::printf("runaway job: %s, worker killed\n", e.what());
  }

  // One token, many runs: cancel() kills every worker at once.
  isolate::CancellationToken stop_all;
  auto a = isolate::CancellableIsolate::run(runaway, 1, stop_all);
  auto b = isolate::CancellableIsolate::run(runaway, 2, stop_all);
  stop_all.cancel("user pressed stop");
  for (auto* f : {&a, &b}) {
    try {
      (void)f->get();
    } catch (const isolate::CancelledException& e) {
      std::printf("cancelled: %s\n", e.reason().c_str());
    }
  }
}
