// sandbox.cpp — a worker entering its sandbox (see sandbox.hpp).
#include "sandbox.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "filter_loading.hpp"
#include "posix/fd.hpp"
#include "posix/landlock.hpp"

namespace isolate::detail {
namespace {

std::string failed(const std::string& what) { return what + ": " + std::strerror(errno); }

/// Lets the domain read `path` (a file, or a directory and all beneath it).
std::string allow_reading(int ruleset, const std::string& path) {
  const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return failed("open " + path);
  struct stat st {};
  landlock::PathBeneathAttr rule;
  rule.parent_fd = fd;
  rule.allowed_access = landlock::kReadFile;
  std::string error;
  if (::fstat(fd, &st) != 0) {
    error = failed("stat " + path);
  } else {
    if (S_ISDIR(st.st_mode)) rule.allowed_access |= landlock::kReadDir;
    if (landlock::add_path_rule(ruleset, rule) != 0) error = failed("landlock_add_rule " + path);
  }
  close_fd(fd);
  return error;
}

std::string restrict_file_system(const WorkerSandbox& sandbox) {
  const int abi = landlock::abi();
  if (abi < landlock::kMinimumAbi) {
    return "Landlock ABI " + std::to_string(abi) + " (needs " + std::to_string(landlock::kMinimumAbi) + ")";
  }
  landlock::RulesetAttr attr;
  attr.handled_access_fs = landlock::file_system_rights(abi);
  if (!sandbox.network) attr.handled_access_net = landlock::kBindTcp | landlock::kConnectTcp;
  attr.scoped = landlock::kScopeAbstractUnixSocket | landlock::kScopeSignal;
  const int ruleset = landlock::create_ruleset(attr, landlock::ruleset_attr_size(abi));
  if (ruleset < 0) return failed("landlock_create_ruleset");
  std::string error;
  for (const auto& path : sandbox.readable) {
    error = allow_reading(ruleset, path);
    if (!error.empty()) break;
  }
  if (error.empty() && landlock::restrict_self(ruleset) != 0) error = failed("landlock_restrict_self");
  close_fd(ruleset);
  return error;
}

}  // namespace

std::string enter_sandbox(const WorkerSandbox& sandbox) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed("prctl(PR_SET_NO_NEW_PRIVS)");
  if (auto error = restrict_file_system(sandbox); !error.empty()) return error;
  if (!load_syscall_filter(sandbox.filter)) return failed("seccomp");
  return {};
}

}  // namespace isolate::detail
