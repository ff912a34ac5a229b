// fault_scale.hpp — how large the fault suite runs: ISOLATE_FAULT_SCALE (default 1) multiplies
// every storm and round count (./scripts/fault.sh runs it larger).
#pragma once

#include <cstdlib>

namespace isolate::test {

inline int fault_scale() {
  const char* text = std::getenv("ISOLATE_FAULT_SCALE");
  const int scale = text != nullptr ? std::atoi(text) : 1;
  return scale > 0 ? scale : 1;
}

}  // namespace isolate::test
