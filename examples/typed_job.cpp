// The README's pool example: a job whose input and output are the program's own types (nlohmann
// to_json/from_json, here through NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE), an exception type that
// crosses the process boundary as itself, and a pool of warm workers.
#include <isolate/isolate.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

struct Order {
  std::string customer;
  std::vector<int> cents;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Order, customer, cents)

struct Invoice {
  std::string customer;
  int total = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Invoice, customer, total)

struct EmptyOrder : std::runtime_error {
  using std::runtime_error::runtime_error;
};
isolate::ExceptionType<EmptyOrder> empty_order("example.EmptyOrder");  // crosses as itself

isolate::Job<Order, Invoice> bill("example.bill", [](const Order& order) {
  if (order.cents.empty()) throw EmptyOrder("no items for " + order.customer);
  int total = 0;
  for (const int cents : order.cents) total += cents;
  return Invoice{order.customer, total};
});

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;  // first line of main

  isolate::IsolatePool pool({.workers = 2});  // warm workers, started once, reused by every job
  isolate::CancellationToken token;
  const Invoice invoice = pool.run(bill, Order{"ada", {250, 1000}}, token).get();
  std::printf("%s owes %d cents\n", invoice.customer.c_str(), invoice.total);
  try {
    (void)pool.run(bill, Order{"bob", {}}, token).get();
  } catch (const EmptyOrder& e) {
    std::printf("refused: %s\n", e.what());
  }
}
