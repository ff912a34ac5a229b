// serve_unavailable.cpp — serve_if_worker on platforms without worker processes
// (ISOLATE_PROCESS_BACKEND=OFF): nothing is ever a worker here.
#include "serve.hpp"

namespace isolate::detail {

std::optional<int> serve_if_worker(const char*) { return std::nullopt; }

}  // namespace isolate::detail
