// worker.cpp — run_worker_if_requested: the first line of a program's main().
#include <isolate/worker.hpp>

#include "serve.hpp"

namespace isolate {

std::optional<int> run_worker_if_requested(int argc, char** argv) {
  if (argc < 2 || argv == nullptr || argv[1] == nullptr) return std::nullopt;
  return detail::serve_if_worker(argv[1]);
}

}  // namespace isolate
