// start_process.hpp — posix_spawn with exactly the fds, stdio and signal state a child is meant to
// have (internal; ChildProcess::spawn owns what it starts).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace isolate::detail {

/// What a child's fds 0, 1 and 2 are.
enum class Stdio {
  inherit,     ///< this process's
  null_input,  ///< stdin /dev/null; stdout and stderr this process's
  null,        ///< all three /dev/null
};

/// Starts `executable` with argv = {executable, args...} and `environment` ("NAME=value"
/// entries; empty: this process's environment): fds
/// 0-2 as `stdio` says, inherit_fds[i] as fd 3 + i, nothing else; an empty signal mask and every
/// signal at its default. Returns its pid (the caller owns the child: it must reap it).
/// Blocks only for the spawn itself. Throws IsolateError naming the executable and the reason.
/// Thread safety: any thread, concurrently.
[[nodiscard]] pid_t start_process(const std::filesystem::path& executable, const std::vector<std::string>& args,
                                  const std::vector<int>& inherit_fds, Stdio stdio,
                                  const std::vector<std::string>& environment);

}  // namespace isolate::detail
