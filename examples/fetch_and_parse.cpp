// fetch_and_parse.cpp — the scene this project grew from: fetch a JSON document over HTTP and
// parse it off the main process, one token cancelling both. A second fetch of the same document
// is cancelled mid-download, as when the user leaves.
//
//   fetch_and_parse URL
#include <isolate/http.hpp>
#include <isolate/isolate.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

// Parses the document where it lies in the worker's shared memory and says what it holds.
isolate::Job<std::string_view, nlohmann::json> summarize("example.summarize", [](const std::string_view& text) {
  const auto document = nlohmann::json::parse(text);
  return nlohmann::json{{"type", document.type_name()}, {"size", document.size()}};
});

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fetch_and_parse URL\n");
    return 64;
  }
  const std::string url = argv[1];
  isolate::IsolatePool pool({.workers = 1});
  isolate::http::Client client;
  try {
    // One token for the download and the parse: whichever runs when it fires stops at once.
    isolate::TimeoutCancellationToken token(60s);
    isolate::http::Response response = client.get(url, token).get();
    if (response.status != 200) {
      std::fprintf(stderr, "%s: status %d\n", url.c_str(), response.status);
      return 1;
    }
    const std::size_t bytes = response.body.size();
    // The body is handed over (moved, never copied here) and parsed in a worker.
    const nlohmann::json summary = pool.run(summarize, std::move(response.body), token).get();
    std::printf("fetched %zu bytes, parsed in a worker: %s\n", bytes, summary.dump().c_str());

    // The user leaves while the same document downloads: the transfer stops, its connection
    // closes, and the parse never starts.
    isolate::CancellationToken leaving;
    isolate::http::Request request{.url = url, .on_receive_progress = [&leaving](const isolate::Progress& progress) {
                                     if (progress.done > 0) leaving.cancel("the user left");
                                   }};
    const isolate::http::Response again = client.send(std::move(request), leaving).get();
    std::printf("second fetch done before the user left: %zu bytes\n", again.body.size());
  } catch (const isolate::CancelledException& e) {
    std::printf("second fetch cancelled: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", url.c_str(), e.what());
    return 1;
  }
  return 0;
}
