// child_process.hpp — a child process started with posix_spawn, killed and reaped exactly once
// (internal).
//
// Defines isolate::detail::ExitStatus (how a child ended) and isolate::detail::ChildProcess, the
// move-only RAII owner of one child: spawned with posix_spawn (never fork: safe in a threaded
// host of any size), given exactly the fds it is meant to have, tracked through a pidfd where the
// kernel has one (Linux >= 5.3) so a reused pid is never signalled or waited for, and killed and
// reaped by its destructor if nobody did it before.
//
//   auto child = isolate::detail::ChildProcess::spawn("/proc/self/exe", {"--worker"}, {memfd});
//   ...                     // the child sees memfd as fd 3
//   child.kill();           // SIGKILL, from any thread
//   ExitStatus s = child.wait();   // s.signal == SIGKILL
#pragma once

#include <isolate/export.hpp>

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "start_process.hpp"

namespace isolate::detail {

/// How a child ended. At most one member is set: `exit_code` when it exited normally (the
/// low 8 bits of its exit status), `signal` when a signal killed it (with or without a core
/// dump). Both are empty only when the status could not be collected: something else in this
/// process reaped the child first (SIGCHLD set to SIG_IGN, a waitpid(-1) loop elsewhere) and the
/// kernel keeps no exit status for its pidfd (before Linux 6.15, or without pidfds).
struct ExitStatus {
  std::optional<int> signal;
  std::optional<int> exit_code;

  /// True when the child exited normally with status 0.
  [[nodiscard]] bool success() const noexcept { return exit_code == 0; }
  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

/// "exit code 7", "killed by signal 9 (Killed)" or "unknown (reaped elsewhere)". Throws
/// std::bad_alloc only.
[[nodiscard]] ISOLATE_EXPORT std::string to_string(const ExitStatus& status);

/// One child process, owned: move-only; the destructor kills it (SIGKILL) if it has not been
/// reaped yet and then reaps it, so no zombie and no orphan remain. After a fork() of this
/// process, the copy in the child never touches the process (see belongs_to_another_process).
///
/// Thread safety: pid(), pidfd(), kill(), try_reap() and wait() may be called concurrently from
/// any threads. The child is reaped exactly once, whoever gets there first; its status is cached
/// and every later try_reap()/wait() returns it. Once reaped, the child is never signalled
/// again. Moving, assigning and destroying need exclusive access.
class ISOLATE_EXPORT ChildProcess {
 public:
  /// Starts `executable` (a path, not looked up in PATH) with argv = {executable, args...} and
  /// `environment` ("NAME=value" entries; empty: this process's environment), via posix_spawn.
  ///
  /// The child's fds: 0, 1 and 2 as `stdio` says (by default as in this process), then
  /// inherit_fds[i] as fd 3 + i, and nothing else (everything from 3 + inherit_fds.size() up is closed, whether or not
  /// it had FD_CLOEXEC). inherit_fds may hold fds whose numbers collide with the targets (e.g. {4, 3}) and fds with
  /// FD_CLOEXEC set; the caller keeps ownership of them. The child starts with an empty signal mask and every signal at
  /// its default disposition (even ones this process ignores). Afterwards a pidfd is opened for the child (unless
  /// `use_pidfd` is false, which exists to test the fallback); where the kernel has none, the pid alone is used.
  ///
  /// Blocks only for the spawn itself (until the child has exec'ed or failed to).
  /// Throws IsolateError naming the executable and the reason when the child cannot be started
  /// (ENOENT, EACCES, ENOEXEC, EAGAIN, ...) or an fd in inherit_fds is not open.
  /// Thread safety: may be called from any thread, concurrently. The child inherits nothing
  /// thread-specific except that PR_SET_PDEATHSIG (if the child sets it) refers to the thread
  /// that called spawn.
  [[nodiscard]] static ChildProcess spawn(const std::filesystem::path& executable, const std::vector<std::string>& args,
                                          const std::vector<int>& inherit_fds, bool use_pidfd = true,
                                          Stdio stdio = Stdio::inherit,
                                          const std::vector<std::string>& environment = {});

  /// An empty object: no child. pid() is -1; kill() returns false; wait()/try_reap() return
  /// an unknown status.
  ChildProcess() noexcept;
  ChildProcess(ChildProcess&& other) noexcept;
  /// Kills and reaps this object's child first (as the destructor does), then takes `other`'s.
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  /// If the child has not been reaped: SIGKILL, then a blocking reap (quick: the child is
  /// dying). Closes the pidfd.
  ~ChildProcess();

  /// The child's pid (-1 for an empty object). After the child is reaped the number may belong
  /// to another process: use it for messages, never to signal.
  [[nodiscard]] pid_t pid() const noexcept;
  /// The pidfd (owned by this object, FD_CLOEXEC) or -1 when the kernel has no pidfd_open.
  /// Becomes readable (poll/epoll) when the child exits. Do not close it. Its file description
  /// may be O_NONBLOCK (a Supervisor watching a dup of it makes it so): poll it rather than
  /// relying on a blocking waitid(P_PIDFD).
  [[nodiscard]] int pidfd() const noexcept;

  /// Sends SIGKILL unless the child has already been reaped. Returns true if the signal was
  /// sent (the child may have exited already and be a zombie), false if it was already reaped
  /// or this object is empty. Does not block and does not reap: call wait() or try_reap().
  bool kill() noexcept;

  /// Kills the child's whole process tree and returns once no process that ran the job's code
  /// remains. For a worker's relay (worker/src/posix/process_tree.hpp): SIGKILLs the serving
  /// worker and the init of its PID namespace together (the worker's exit then does not wait for
  /// the init to wake and kill it) and waits until the init has ended, which the kernel lets it do only once
  /// every other process of the namespace is gone (reaped); the relay itself, outside the
  /// namespace, then ends on its own a moment later and is reaped by whoever watches it (a
  /// Supervisor) or by the next try_reap()/wait() — not waited for here, which would put two more
  /// exits and wake-ups on a cancel's path. Any other child: kill(), then wait() (reaped).
  /// Blocks until then; other threads may kill() and try_reap() meanwhile.
  void kill_tree_and_wait() noexcept;

  /// For a worker's relay whose namespace holds its init and the serving worker only (as once
  /// the worker said it is ready, before its first job): finds both and keeps their pidfds, so
  /// that kill() and kill_tree_and_wait() later signal them at once, with no /proc reads on
  /// their path (without it they find the tree when they are called). Does nothing for any other
  /// child, after the child is reaped, or once it succeeded. A few /proc reads (tens of µs): call
  /// it off the paths that must be fast. Thread-safe.
  void find_tree() noexcept;

  /// Reaps the child if it has exited; never blocks. Returns its status (cached after the
  /// first success), or nullopt while it is still running.
  [[nodiscard]] std::optional<ExitStatus> try_reap() noexcept;

  /// Blocks until the child has exited, reaps it (if nobody else did) and returns its status.
  /// Other threads may kill() and try_reap() meanwhile (no lock is held while blocking).
  ExitStatus wait() noexcept;

  /// True in a child of fork() made after this object: the process is the parent's child, so
  /// kill() does nothing and try_reap()/wait() return an unknown status at once.
  [[nodiscard]] bool belongs_to_another_process() const noexcept;

 private:
  struct State;
  explicit ChildProcess(std::unique_ptr<State> state) noexcept;
  void destroy() noexcept;
  /// kill(); for a relay, also hands over its init's pidfd (-1 otherwise; the caller closes it).
  bool kill_tree(int* init_pidfd) noexcept;
  /// kill_tree() for a tree find_tree() found: false if there is none (or its init is gone).
  /// Caller holds the state's mutex.
  bool kill_known_tree(int* init_pidfd) noexcept;

  std::unique_ptr<State> state_;
};

}  // namespace isolate::detail
