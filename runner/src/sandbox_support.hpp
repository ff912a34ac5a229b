// sandbox_support.hpp — whether this build on this kernel can enforce a Sandbox (internal;
// Sandbox::available() is defined beside it, in posix/ or fallback/).
#pragma once

#include <string>

namespace isolate::detail {

/// Why Sandbox::available() is false here ("" when it is true). Thread-safe.
[[nodiscard]] std::string sandbox_unavailable_reason();

}  // namespace isolate::detail
