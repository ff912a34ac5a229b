// child_children.hpp — the children of a child process: killing them first, and telling a worker's
// relay (see worker/src/posix/process_tree.hpp) from a process that serves itself (internal).
#pragma once

#include <sys/types.h>

#include <optional>

namespace isolate::detail {

/// The pidfds (owned by the caller) of a relay's two processes inside its namespace.
struct RelayTree {
  int init_pidfd = -1;    ///< pid 1: ends once every other process of the namespace is gone
  int server_pidfd = -1;  ///< pid 2: the serving worker
};

/// For a worker's relay (made_pid_namespace) whose init has exactly one child, the serving
/// worker (e.g. once the worker said it is ready, before its first job): pidfds of both, each
/// opened while /proc listed it as the child of the one above, checked again after the pidfd
/// existed (so never of a process that took a freed number). nullopt for any other child, a relay
/// not yet or no longer so, or where the kernel has no pidfds. A few /proc reads: tens of µs.
[[nodiscard]] std::optional<RelayTree> find_relay_tree(pid_t pid) noexcept;

/// For a worker's relay (made_pid_namespace): kills its child, the namespace's init, and the
/// init's children (the serving worker: at once, so that its exit does not wait for the init's),
/// and returns true: the relay ends by itself once the namespace is empty. For any other child:
/// kills its children and returns false (the caller kills the child itself). A relay caught
/// between its unshare and its fork (its namespace reads as made only once the init exists) is
/// "any other", killed before it has an init to orphan; one that forks its init meanwhile is
/// looked at again. Also false where /proc lists no child for a relay: then the caller kills the
/// relay. Every process is signalled through a pidfd opened while it was listed as its parent's
/// child, so a pid reused meanwhile is never signalled. With `init_pidfd`, when it returns true,
/// the init's pidfd is left open there for the caller to close: it becomes readable once the init
/// has ended, and so once its namespace is empty.
bool kill_relay_children(pid_t pid, int* init_pidfd = nullptr) noexcept;

}  // namespace isolate::detail
