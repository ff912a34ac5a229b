// isolate-worker — the generic worker executable. Point RunOptions::worker_executable (or
// PoolOptions::worker_executable) at it to run the jobs built into it (those of isolate-run,
// e.g. "isolate.json-stats") in a program other than your own.
#include <isolate/worker.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  std::fprintf(stderr,
               "isolate-worker: this program serves jobs for the isolate library and is started by it;\n"
               "set RunOptions::worker_executable to its path rather than running it by hand.\n");
  return 64;
}
