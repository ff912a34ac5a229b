// A program whose main() forgot isolate::run_worker_if_requested. Started normally, it runs a job
// (a one-shot run, or with ISOLATE_TEST_UNDISPATCHED_POOL=1 a pool job) and exits 0 if the job
// succeeded, else prints the error and exits 3. Its worker is this program again: without the
// dispatch guard, every level would start another level (a chain of processes).
#include <isolate/isolate.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

isolate::Job<std::string, std::string> shout("undispatched.shout", [](const std::string& s) { return s + "!"; });

int main() {  // deliberately without run_worker_if_requested
  const bool pool = std::getenv("ISOLATE_TEST_UNDISPATCHED_POOL") != nullptr;
  try {
    std::string out;
    if (pool) {
      isolate::IsolatePool workers({.workers = 1, .backend = isolate::Backend::process});
      out = workers.run(shout, std::string("hi")).get();
    } else {
      out =
          isolate::CancellableIsolate::run(shout, std::string("hi"), {}, {.backend = isolate::Backend::process}).get();
    }
    std::printf("%s\n", out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "run failed: %s\n", e.what());
    return 3;
  }
}
