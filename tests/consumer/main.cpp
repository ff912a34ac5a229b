// A program outside the tree that uses isolate only through its public interface, as users write
// one: tokens and futures, a job run in a worker process (this program re-executed), a pool, a
// registered exception type. Built against an installed package, through add_subdirectory (as a
// shared library: a missing export fails to link here) and through FetchContent.
#include <isolate/isolate.hpp>

#include <chrono>
#include <cstdio>
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

}  // namespace

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  if (const int failed = check_tokens()) return failed;
  return check_jobs();
}
