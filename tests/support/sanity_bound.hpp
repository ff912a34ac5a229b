// sanity_bound.hpp — how long a test waits for what must happen eventually: far above any real
// delay (sanitizers, a loaded 2-core machine), only there so that a hang fails its test instead of
// stalling the suite. No test claims lateness with it.
#pragma once

#include <chrono>

namespace isolate::test {

inline constexpr std::chrono::seconds kSanityBound{30};

}  // namespace isolate::test
