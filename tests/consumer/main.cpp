// A program outside the tree that uses isolate only through its installed interface.
#include <isolate/isolate.hpp>

#include <chrono>
#include <cstdio>

int main() {
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
