// child_children.hpp — the children of a child process: killing them first, and telling a worker's
// relay (see worker/src/posix/process_tree.hpp) from a process that serves itself (internal).
#pragma once

#include <sys/types.h>

namespace isolate::detail {

/// SIGKILLs every child of `pid` (our unreaped child, whose own children are listed in
/// /proc/<pid>/task/<pid>/children), each through a pidfd opened while it was listed as pid's
/// child, so that a pid reused meanwhile is never signalled. Returns how many it signalled: 0
/// where the kernel has no pidfds or the list cannot be read.
int kill_children_of(pid_t pid) noexcept;

/// True if `pid` made a PID namespace for its children (its pid_for_children is not ours): a
/// worker's relay, which ends by itself, once the namespace is empty, when its child (the
/// namespace's init) dies.
[[nodiscard]] bool made_pid_namespace(pid_t pid) noexcept;

}  // namespace isolate::detail
