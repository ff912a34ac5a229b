// process_tree.hpp — a worker's own PID namespace: every process a job starts dies with its run
// (internal).
//
// A started worker process (the "relay", the parent's child) makes a new PID namespace and forks
// its init into it (pid 1), which forks the serving worker (pid 2). Every process a job starts
// lands in that namespace, whatever it does (setsid, double fork), and the kernel kills all of
// them when the init dies. The init reaps the namespace's orphans; when the serving worker ends,
// it records how (in a page it shares with the relay) and exits, which empties the namespace. The
// relay waits for the init and ends as the serving worker ended: the same exit code, or the same
// signal. The parent kills a worker by killing the relay's child, the init (ChildProcess::kill):
// reaping the relay then means that no process of the tree remains.
//
//   parent ── relay (outside) ── init (pid 1: reaps) ── worker (pid 2: serves; a job's are 3...)
//
// Everything dies with the parent: the relay by PR_SET_PDEATHSIG, the init with the relay (also
// PR_SET_PDEATHSIG), the namespace with its init. Root makes the namespace directly
// (CAP_SYS_ADMIN); another user inside a user namespace of its own (its uid and gid mapped to
// themselves). Where the kernel refuses both (user namespaces disabled, a container without them,
// a worker program that started threads before main) or has no pidfds (< 5.3), the worker serves
// without one: then only the job's direct children are killed with it (see README).
#pragma once

namespace isolate::detail {

/// How a worker process serves after make_process_tree().
enum class ProcessTree {
  own_namespace,  ///< this is the serving worker, pid 2 of its own PID namespace
  none,           ///< no namespace could be made: this process serves itself
};

/// Called once by a started worker process after its parent checks, before it touches its fds.
/// Returns in the serving process only: the relay and the init never return (they _exit).
/// `cpu_limited`: the serving worker will enforce a CPU limit, so a SIGKILL at its RLIMIT_CPU
/// hard limit is reported as that limit (see reap_serving_worker in process_tree.cpp).
[[nodiscard]] ProcessTree make_process_tree(bool cpu_limited) noexcept;

/// Kills every process of this worker's namespace except its init and the caller, and waits
/// until they are gone (its own children reaped, the rest by the init). Cheap when the job started
/// nothing (one kill(2) that finds no process). Does nothing unless make_process_tree() returned
/// own_namespace in this process. A pool worker calls it after each job.
void end_job_processes() noexcept;

}  // namespace isolate::detail
