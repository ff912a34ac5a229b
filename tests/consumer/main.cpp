// A program outside the tree that uses isolate only through its public interface, as users write
// one: tokens and futures, a job run in a worker process (this program re-executed), a pool, a
// registered exception type, async_run (target isolate::asio), progress and isolate::http. Built
// against an installed package, through add_subdirectory (as a shared library: a missing export
// fails to link here) and through FetchContent.
#include <isolate/asio.hpp>
#include <isolate/http.hpp>
#include <isolate/isolate.hpp>

#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace {

struct Invoice {
  std::string customer;
  int cents = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Invoice, customer, cents)

struct Overdrawn : std::runtime_error {
  using std::runtime_error::runtime_error;
};

isolate::ExceptionType<Overdrawn> overdrawn_type("consumer.Overdrawn");

isolate::Job<Invoice, Invoice> discount("consumer.discount", [](const Invoice& in) {
  if (in.cents < 0) throw Overdrawn("negative invoice for " + in.customer);
  return Invoice{in.customer, in.cents * 9 / 10};
});

int check_tokens() {
  using namespace std::chrono_literals;
  isolate::CancellationToken parent;
  isolate::TimeoutCancellationToken timeout(10s);
  auto merged = parent.merge({timeout});
  auto slow = isolate::run_cancellable([] { return 42; }, merged);
  if (slow.get() != 42) return 1;
  isolate::CancellableCompleter<int> completer(merged);
  auto never = completer.future();
  parent.cancel("consumer cancelled");
  try {
    never.get();
    return 2;
  } catch (const isolate::CancelledException& e) {
    std::printf("consumer: %s\n", e.what());
  }
  return merged.has_callbacks() || parent.has_callbacks() ? 3 : 0;
}

int check_jobs() {
  const Invoice invoice{"ada", 1000};
  if (isolate::CancellableIsolate::run(discount, invoice).get().cents != 900) return 4;
  isolate::IsolatePool pool({.workers = 1});
  if (pool.run(discount, invoice).get().cents != 900) return 5;
  try {
    (void)pool.run(discount, Invoice{"bob", -1}).get();
    return 6;
  } catch (const Overdrawn& e) {
    std::printf("consumer: %s\n", e.what());
  }
  return 0;
}

isolate::Job<int, int> count_to("consumer.count-to", [](const int& n, isolate::JobContext& context) {
  for (int i = 1; i <= n; ++i) context.report_progress(static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(n));
  return n;
});

int check_async_and_progress() {
  if (isolate::async_run(discount, Invoice{"cy", 100}, boost::asio::use_future).get().cents != 90) return 7;
  isolate::IsolatePool pool({.workers = 1});
  if (isolate::async_run(pool, count_to, 10, boost::asio::use_future).get() != 10) return 8;
  auto counted = pool.run(count_to, 1000, {}, [](const isolate::Progress& p) {
    if (p.done > p.total) std::abort();
  });
  return counted.get() == 1000 ? 0 : 9;
}

/// isolate::http (target isolate::http): a request whose token is cancelled already is never
/// sent and fails with the token's exception; a response's headers are found in any case.
int check_http() {
  isolate::http::Client client;
  isolate::CancellationToken token;
  token.cancel("not needed");
  try {
    (void)client.get("http://127.0.0.1:9/", token).get();
    return 10;
  } catch (const isolate::CancelledException& e) {
    if (std::string(e.what()) != "not needed") return 11;
  }
  const isolate::http::Response response{.status = 200, .headers = {{"Content-Type", "text/plain"}}};
  return response.header("content-type") == "text/plain" ? 0 : 12;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (const int failed = check_tokens()) return failed;
  if (const int failed = check_jobs()) return failed;
  if (const int failed = check_async_and_progress()) return failed;
  return check_http();
}
