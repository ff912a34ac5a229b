// signal_text.hpp — naming a signal the one way the library does (internal).
#pragma once

#include <string>

namespace isolate::detail {

/// "signal 9 (SIGKILL)", or "signal 77" for a number without a name. Throws std::bad_alloc only.
[[nodiscard]] std::string signal_text(int signal);

}  // namespace isolate::detail
