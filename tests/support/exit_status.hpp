// exit_status.hpp — the ExitStatus a test expects of a child.
#pragma once

#include <optional>

#include "posix/child_process.hpp"

namespace isolate::test {

inline detail::ExitStatus exited(int code) { return detail::ExitStatus{std::nullopt, code}; }
inline detail::ExitStatus killed(int signal) { return detail::ExitStatus{signal, std::nullopt}; }

}  // namespace isolate::test
