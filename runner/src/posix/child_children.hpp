// child_children.hpp — the children of a child process: killing them first, and telling a worker's
// relay (see worker/src/posix/process_tree.hpp) from a process that serves itself (internal).
#pragma once

#include <sys/types.h>

namespace isolate::detail {

/// SIGKILLs every child of `pid` (our unreaped child, whose own children are listed in
/// /proc/<pid>/task/<pid>/children), each through a pidfd opened while it was listed as pid's
/// child, so that a pid reused meanwhile is never signalled. Returns how many it signalled: 0
/// where the kernel has no pidfds or the list cannot be read. With `first_pidfd`, the pidfd of
/// the first child signalled is left open there for the caller to close (-1 if none was).
int kill_children_of(pid_t pid, int* first_pidfd = nullptr) noexcept;

/// True if `pid` made a PID namespace for its children (its pid_for_children is not ours): a
/// worker's relay, which ends by itself, once the namespace is empty, when its child (the
/// namespace's init) dies.
[[nodiscard]] bool made_pid_namespace(pid_t pid) noexcept;

/// For a worker's relay (made_pid_namespace): kills its child, the namespace's init, and returns
/// true: the relay ends by itself once the namespace is empty. For any other child: kills its
/// children and returns false (the caller kills the child itself). A relay caught between its
/// unshare and its fork (its namespace reads as made only once the init exists) is "any other",
/// killed before it has an init to orphan; one that forks its init meanwhile is looked at again.
/// Also false where /proc lists no child for a relay: then the caller kills the relay.
/// With `init_pidfd`, when it returns true, the init's pidfd is left open there for the caller to
/// close: it becomes readable once the init has ended, and so once its namespace is empty.
bool kill_relay_children(pid_t pid, int* init_pidfd = nullptr) noexcept;

}  // namespace isolate::detail
