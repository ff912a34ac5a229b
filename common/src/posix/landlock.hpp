// landlock.hpp — the Landlock system calls and the access rights isolate uses (internal).
//
// Debian 12's kernel headers (6.1) stop at ABI 2, and glibc 2.36 has no wrappers, so the rights
// and the ruleset attribute are spelled out here from the kernel's stable UAPI
// (include/uapi/linux/landlock.h): a kernel takes the attribute's prefix its ABI knows.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace isolate::detail::landlock {

// File-system rights (handled_access_fs, allowed_access), by the ABI that added them.
inline constexpr std::uint64_t kExecute = 1ULL << 0;  // ABI 1: bits 0..12
inline constexpr std::uint64_t kWriteFile = 1ULL << 1;
inline constexpr std::uint64_t kReadFile = 1ULL << 2;
inline constexpr std::uint64_t kReadDir = 1ULL << 3;
inline constexpr std::uint64_t kAbi1Rights = (1ULL << 13) - 1;
inline constexpr std::uint64_t kRefer = 1ULL << 13;     // ABI 2: link or rename across directories
inline constexpr std::uint64_t kTruncate = 1ULL << 14;  // ABI 3
inline constexpr std::uint64_t kIoctlDev = 1ULL << 15;  // ABI 5
// Network rights (handled_access_net), ABI 4.
inline constexpr std::uint64_t kBindTcp = 1ULL << 0;
inline constexpr std::uint64_t kConnectTcp = 1ULL << 1;
// Scopes (scoped), ABI 6: no connecting to abstract UNIX sockets, no signals, outside the domain.
inline constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
inline constexpr std::uint64_t kScopeSignal = 1ULL << 1;

inline constexpr unsigned kCreateRulesetVersion = 1U << 0;
inline constexpr int kRulePathBeneath = 1;

struct RulesetAttr {
  std::uint64_t handled_access_fs = 0;
  std::uint64_t handled_access_net = 0;  // ABI >= 4
  std::uint64_t scoped = 0;              // ABI >= 6
};

struct __attribute__((packed)) PathBeneathAttr {
  std::uint64_t allowed_access = 0;
  std::int32_t parent_fd = -1;
};

/// The oldest ABI the sandbox accepts: before ABI 3 (Linux 6.2) truncate() is never denied, so a
/// job could empty a file it cannot open for writing.
inline constexpr int kMinimumAbi = 3;

/// The Landlock ABI this kernel supports; 0 when it has none (or it is disabled at boot).
inline int abi() noexcept {
  const long version = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return version > 0 ? static_cast<int>(version) : 0;
}

/// Every file-system right `abi` knows: what a ruleset handles (denies unless a rule allows).
inline std::uint64_t file_system_rights(int abi) noexcept {
  std::uint64_t rights = kAbi1Rights;
  if (abi >= 2) rights |= kRefer;
  if (abi >= 3) rights |= kTruncate;
  if (abi >= 5) rights |= kIoctlDev;
  return rights;
}

/// The size of the attribute prefix `abi` knows.
inline std::size_t ruleset_attr_size(int abi) noexcept {
  if (abi >= 6) return sizeof(RulesetAttr);
  if (abi >= 4) return offsetof(RulesetAttr, scoped);
  return offsetof(RulesetAttr, handled_access_net);
}

inline int create_ruleset(const RulesetAttr& attr, std::size_t size) noexcept {
  return static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0U));
}

inline int add_path_rule(int ruleset, const PathBeneathAttr& rule) noexcept {
  return static_cast<int>(::syscall(SYS_landlock_add_rule, ruleset, kRulePathBeneath, &rule, 0U));
}

inline int restrict_self(int ruleset) noexcept {
  return static_cast<int>(::syscall(SYS_landlock_restrict_self, ruleset, 0U));
}

}  // namespace isolate::detail::landlock
