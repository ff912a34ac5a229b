// sandbox_filter.hpp — a sandbox's seccomp filter as the parent compiles it and the worker loads
// it (internal: the protocol).
//
// The parent builds the filter once (libseccomp: runner/src/posix/syscall_filter.cpp) and sends
// it in the worker argument, so a worker loads a ready BPF program instead of compiling one in a
// cold process (which cost a sandboxed cold run half a millisecond). With it come the system-call
// numbers of kSandboxKilledCalls on this architecture, for the worker's SIGSYS handler to name a
// call. Encoding (native byte order: both ends are this machine): u32 N, N x i32 numbers (-1:
// none here), i32 the number of clone, then the program's sock_filter instructions (8 bytes each).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/sandbox_calls.hpp"

namespace isolate::detail {

struct CompiledFilter {
  std::vector<std::int32_t> killed_numbers;  // by index of kSandboxKilledCalls
  std::int32_t clone_number = -1;
  std::string program;  // sock_filter instructions
};

inline constexpr std::size_t kFilterInstructionBytes = 8;

inline std::string encode_filter(const CompiledFilter& filter) {
  std::string out;
  const auto put = [&out](const auto value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
  };  // NOLINT
  put(static_cast<std::uint32_t>(filter.killed_numbers.size()));
  for (const auto number : filter.killed_numbers) put(number);
  put(filter.clone_number);
  return out.append(filter.program);
}

/// nullopt: not a filter this side can load (wrong table size, a truncated program).
inline std::optional<CompiledFilter> decode_filter(std::string_view bytes) {
  const auto take = [&bytes](auto& value) {
    if (bytes.size() < sizeof value) return false;
    std::memcpy(&value, bytes.data(), sizeof value);
    bytes.remove_prefix(sizeof value);
    return true;
  };
  std::uint32_t count = 0;
  if (!take(count) || count != kSandboxKilledCalls.size()) return std::nullopt;
  CompiledFilter filter;
  filter.killed_numbers.resize(count);
  for (auto& number : filter.killed_numbers) {
    if (!take(number)) return std::nullopt;
  }
  if (!take(filter.clone_number) || bytes.empty() || bytes.size() % kFilterInstructionBytes != 0) return std::nullopt;
  filter.program = std::string(bytes);
  return filter;
}

}  // namespace isolate::detail
