// expect: this type has none of them
// Must not compile, with one message: a job whose In has no nlohmann to_json/from_json.
#include <isolate/isolate.hpp>

struct Invoice {
  int cents = 0;
};

isolate::Job<Invoice, int> total("total", [](const Invoice& in) { return in.cents; });

int main() { (void)isolate::CancellableIsolate::run(total, Invoice{}).get(); }
