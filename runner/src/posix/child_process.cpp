// child_process.cpp — ChildProcess: posix_spawn, pidfd, kill and reap-exactly-once.
#include "child_process.hpp"

#include <isolate/errors.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <utility>

#include "per_process.hpp"
#include "posix/child_children.hpp"
#include "posix/fd.hpp"
#include "posix/pidfd.hpp"
#include "posix/start_process.hpp"
#include "signal_text.hpp"

namespace isolate::detail {

namespace {

/// struct pidfd_info of <linux/pidfd.h> as of Linux 6.15 (Debian 12's headers predate it).
struct PidfdInfo {
  std::uint64_t mask;
  std::uint64_t cgroupid;
  std::uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  std::int32_t exit_code;  // a wait status, valid with kPidfdInfoExit in mask
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);  // PIDFD_GET_INFO
constexpr std::uint64_t kPidfdInfoExit = 1u << 3;                    // PIDFD_INFO_EXIT

/// How a child that something else reaped (SIGCHLD ignored, a waitpid(-1) loop in the host)
/// ended, from its pidfd: Linux >= 6.15 keeps the exit status for holders of a pidfd. nullopt on
/// older kernels.
std::optional<ExitStatus> exit_status_from_pidfd(int pidfd) noexcept {
  if (pidfd < 0) return std::nullopt;
  // The kernel wakes pidfd waiters as the child exits and records its exit status a moment later
  // (when the child is released): until then the ioctl answers without PIDFD_INFO_EXIT, or ESRCH.
  // Kernels that keep none answer so for good, so the wait is bounded (about 10 ms; only hosts
  // that reap the library's children pay it).
  for (int attempt = 0;; ++attempt) {
    PidfdInfo info{};
    info.mask = kPidfdInfoExit;
    if (::ioctl(pidfd, kPidfdGetInfo, &info) == 0) {
      if ((info.mask & kPidfdInfoExit) != 0) {
        ExitStatus status;
        if (WIFEXITED(info.exit_code)) status.exit_code = WEXITSTATUS(info.exit_code);
        if (WIFSIGNALED(info.exit_code)) status.signal = WTERMSIG(info.exit_code);
        return status;
      }
    } else if (errno != ESRCH) {
      return std::nullopt;  // ENOTTY/EINVAL: no such ioctl on this kernel
    }
    if (attempt == 10) return std::nullopt;
    ::usleep(static_cast<useconds_t>(50u << std::min(attempt, 5)));
  }
}

/// Whether waitid(P_PIDFD, ...) works (Linux >= 5.4). Starts true; cleared on the first EINVAL.
std::atomic<bool> g_waitid_pidfd_supported{true};

ExitStatus decode(const siginfo_t& info) noexcept {
  ExitStatus status;
  switch (info.si_code) {
    case CLD_EXITED:
      status.exit_code = info.si_status;
      break;
    case CLD_KILLED:
    case CLD_DUMPED:
      status.signal = info.si_status;
      break;
    default:  // CLD_STOPPED/CLD_CONTINUED/CLD_TRAPPED: not requested (WEXITED only)
      break;
  }
  return status;
}

/// Blocks until `fd` (a pidfd: readable once its process has exited) is readable. False if poll
/// itself failed (ENOMEM...).
bool wait_until_readable(int fd) noexcept {
  for (;;) {
    pollfd entry{fd, POLLIN, 0};
    const int rc = ::poll(&entry, 1, -1);
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::string to_string(const ExitStatus& status) {
  if (status.exit_code) return "exit code " + std::to_string(*status.exit_code);
  if (status.signal) return "killed by " + signal_text(*status.signal);
  return "unknown (reaped elsewhere)";
}

struct ChildProcess::State {
  pid_t pid = -1;
  std::uint64_t generation = fork_generation();  // another one: a child of a fork() holds a copy
  int pidfd = -1;                                // immutable after spawn, closed by ~ChildProcess
  std::mutex mutex;
  std::optional<ExitStatus> status;  // guarded by mutex: set once, when reaped
  RelayTree tree;                    // guarded by mutex: set once (find_tree), closed by ~ChildProcess

  /// Reaps if the child has exited, without blocking. Caller holds `mutex`.
  std::optional<ExitStatus> reap_locked() noexcept {
    if (status) {
      return status;
    }
    for (;;) {
      siginfo_t info;
      ::memset(&info, 0, sizeof info);  // si_pid stays 0 when WNOHANG finds nothing
      const bool by_pidfd = pidfd >= 0 && g_waitid_pidfd_supported.load(std::memory_order_relaxed);
      const int rc = by_pidfd ? ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG)
                              : ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG);
      if (rc == 0) {
        if (info.si_pid == 0) {
          return std::nullopt;  // still running
        }
        status = decode(info);
        return status;
      }
      const int error = errno;
      if (error == EINTR) {
        continue;
      }
      if (error == EAGAIN) {
        // Linux >= 5.10, pidfd description made O_NONBLOCK (e.g. by a Supervisor's asio
        // descriptor on a dup of it): "not yet exited", exactly like si_pid == 0 above.
        return std::nullopt;
      }
      if (error == EINVAL && by_pidfd) {  // kernel 5.3: pidfd_open but no P_PIDFD
        g_waitid_pidfd_supported.store(false, std::memory_order_relaxed);
        continue;
      }
      // ECHILD: something else in this process reaped it (SIGCHLD ignored, a waitpid(-1)
      // loop). The pidfd still knows how it ended on Linux >= 6.15; before that its status is
      // lost. Either way it is gone, so it must never be signalled again.
      status = exit_status_from_pidfd(pidfd).value_or(ExitStatus{});
      return status;
    }
  }

  /// Blocks until the child is waitable (exited, not necessarily reaped by us) or gone. Holds no
  /// lock, reaps nothing.
  void block_until_exited() noexcept {
    if (pidfd >= 0) {
      // poll, not a blocking waitid(P_PIDFD): the pidfd's file description may have been made
      // O_NONBLOCK (asio does that to the dup a Supervisor watches), and then waitid(P_PIDFD)
      // does not block (Linux >= 5.10). A pidfd becomes readable when the child exits, and stays
      // readable. If poll itself fails, the pid-based wait below does it.
      if (wait_until_readable(pidfd)) return;
    }
    for (;;) {
      siginfo_t info;
      ::memset(&info, 0, sizeof info);
      // Safe: the child is not reaped (its pid cannot be reused) until someone reaps it through
      // this object, which then caches the status our caller returns.
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == 0 || errno != EINTR) {
        return;  // waitable, or ECHILD: already reaped
      }
    }
  }
};

ChildProcess::ChildProcess() noexcept = default;

ChildProcess::ChildProcess(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept = default;

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    destroy();
    state_ = std::move(other.state_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { destroy(); }

bool ChildProcess::belongs_to_another_process() const noexcept {
  return state_ && state_->generation != fork_generation();
}

void ChildProcess::destroy() noexcept {
  if (!state_) {
    return;
  }
  if (state_->pid > 0 && !try_reap()) {
    kill();
    (void)wait();
  }
  close_fd(std::exchange(state_->pidfd, -1));
  close_fd(state_->tree.init_pidfd);
  close_fd(state_->tree.server_pidfd);
  state_.reset();
}

ChildProcess ChildProcess::spawn(const std::filesystem::path& executable, const std::vector<std::string>& args,
                                 const std::vector<int>& inherit_fds, bool use_pidfd, Stdio stdio,
                                 const std::vector<std::string>& environment) {
  // Everything that can throw happens before the child exists: once it does, its pid must reach
  // a ChildProcess (whose destructor kills and reaps it).
  auto state = std::make_unique<State>();
  state->pid = start_process(executable, args, inherit_fds, stdio, environment);
  state->pidfd = use_pidfd ? open_pidfd(state->pid) : -1;
  return ChildProcess(std::move(state));
}

pid_t ChildProcess::pid() const noexcept { return state_ ? state_->pid : -1; }

int ChildProcess::pidfd() const noexcept { return state_ ? state_->pidfd : -1; }

bool ChildProcess::kill() noexcept { return kill_tree(nullptr); }

void ChildProcess::find_tree() noexcept {
  if (!state_ || state_->pid <= 0 || state_->pidfd < 0 || belongs_to_another_process()) return;
  const std::lock_guard lock(state_->mutex);  // the relay cannot be reaped (its pid freed) meanwhile
  if (state_->status || state_->tree.init_pidfd >= 0) return;
  if (auto tree = find_relay_tree(state_->pid)) state_->tree = *tree;
}

void ChildProcess::kill_tree_and_wait() noexcept {
  int init_pidfd = -1;
  const bool init_ended = kill_tree(&init_pidfd) && init_pidfd >= 0 && wait_until_readable(init_pidfd);
  close_fd(init_pidfd);
  if (!init_ended) (void)wait();
}

bool ChildProcess::kill_tree(int* init_pidfd) noexcept {
  if (!state_ || state_->pid <= 0 || belongs_to_another_process()) {
    return false;  // never signal the children of the process we were forked from
  }
  // Holding the mutex keeps a concurrent reap out: the pid cannot be freed while we signal it.
  const std::lock_guard lock(state_->mutex);
  if (state_->status) {
    return false;
  }
  // A worker's relay ends by itself once its namespace is empty: killing its children (the
  // namespace's init and the serving worker) and not the relay makes reaping it mean that the
  // whole tree is gone. Any other child dies with its direct children. Only with pidfds: without
  // them a listed pid could be reused before it is signalled.
  if (kill_known_tree(init_pidfd)) return true;
  if (state_->pidfd >= 0 && kill_relay_children(state_->pid, init_pidfd)) return true;
  if (state_->pidfd >= 0) {
    const int error = pidfd_kill(state_->pidfd);
    if (error != ENOSYS) {
      return error == 0;
    }
  }
  return ::kill(state_->pid, SIGKILL) == 0;
}

bool ChildProcess::kill_known_tree(int* init_pidfd) noexcept {
  const RelayTree& tree = state_->tree;
  if (tree.init_pidfd < 0) return false;
  (void)pidfd_kill(tree.server_pidfd);  // first and at once: its exit need not wait for the init's
  // ESRCH: the init is gone (reaped by the relay, which is ending): the relay is killed instead.
  if (pidfd_kill(tree.init_pidfd) != 0) return false;
  if (init_pidfd != nullptr) *init_pidfd = ::fcntl(tree.init_pidfd, F_DUPFD_CLOEXEC, 0);  // -1: reap the relay
  return true;
}

std::optional<ExitStatus> ChildProcess::try_reap() noexcept {
  if (!state_ || state_->pid <= 0 || belongs_to_another_process()) {
    return ExitStatus{};
  }
  const std::lock_guard lock(state_->mutex);
  return state_->reap_locked();
}

ExitStatus ChildProcess::wait() noexcept {
  if (!state_ || state_->pid <= 0 || belongs_to_another_process()) {
    return ExitStatus{};  // not ours to wait for: never block on another process's child
  }
  for (;;) {
    {
      const std::lock_guard lock(state_->mutex);
      if (auto status = state_->reap_locked()) {
        return *status;
      }
    }
    state_->block_until_exited();
  }
}

}  // namespace isolate::detail
