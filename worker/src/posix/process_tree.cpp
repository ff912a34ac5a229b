// process_tree.cpp — the relay, the init and the serving worker of a worker's own PID namespace
// (see process_tree.hpp).
#include "process_tree.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <string>

#include "posix/pidfd.hpp"
#include "protocol/worker_argument.hpp"

namespace isolate::detail {
namespace {

/// The serving worker's pid in the namespace of its own it serves in (usually 2; 3 and up where a
/// sanitizer's runtime gave the init a thread first), 0 anywhere else: only there may
/// end_job_processes() signal "every process" (-1), which outside it would mean the whole user's.
pid_t g_serving_pid = 0;

bool write_text(const char* path, const std::string& text) noexcept {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return written;
}

/// A new PID namespace for this process's next children: directly as root, else inside a user
/// namespace of this process's own (its uid and gid mapped to themselves, so files, sockets and
/// permissions look as before). False when the kernel refuses both; then nothing changed.
bool unshare_pid_namespace() noexcept {
  if (::unshare(CLONE_NEWPID) == 0) return true;
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) return false;  // disabled, or threads already
  const bool mapped = write_text("/proc/self/setgroups", "deny") &&
                      write_text("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") &&
                      write_text("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
  if (!mapped) {
    // Inside a user namespace with nobody mapped, nothing would work as the job expects.
    std::fprintf(stderr, "isolate worker: cannot map its uid and gid in its user namespace: %s\n",
                 std::strerror(errno));
    ::_exit(kWorkerExitNoProcessTree);
  }
  return true;
}

/// How the serving worker ended, as the init saw it: shared (one anonymous page) by the relay and
/// the init, which the serving worker unmaps.
struct Outcome {
  std::atomic<int> recorded{0};
  int status = 0;  // a waitpid status, valid once recorded
};

/// Waits for child `pid` (or any child: -1) and returns its waitpid status.
int wait_for(pid_t pid) noexcept {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

/// Reaps the serving worker `worker`, which has ended (a zombie), and returns its waitpid status.
/// With `cpu_limited`, a SIGKILL the kernel sent it at RLIMIT_CPU's hard limit (cpu_backstop.hpp),
/// which a job that blocked SIGXCPU meets, becomes the exit status the worker's SIGXCPU handler
/// would have given. Told apart from other SIGKILLs by the zombie's soft limit, which the kernel
/// raised to the hard one when the worker's CPU reached it (the worker set it a second lower),
/// and by the CPU used: within a second of the hard limit (the kernel counts by ticks, the reaped
/// usage precisely; it includes the worker's reaped children, which can only make it larger).
int reap_serving_worker(pid_t worker, bool cpu_limited) noexcept {
  rlimit cpu{};
  const bool at_hard_limit = cpu_limited && ::prlimit(worker, RLIMIT_CPU, nullptr, &cpu) == 0 &&
                             cpu.rlim_max != RLIM_INFINITY && cpu.rlim_max > 0 && cpu.rlim_cur == cpu.rlim_max;
  int status = 0;
  rusage usage{};
  while (::wait4(worker, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  const auto used_s = static_cast<std::uint64_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                      static_cast<std::uint64_t>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1'000'000u;
  if (at_hard_limit && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && used_s + 1 >= cpu.rlim_max) {
    return W_EXITCODE(kWorkerExitCpuLimit, 0);
  }
  return status;
}

/// pid 1 of the namespace. Dies with the relay (PR_SET_PDEATHSIG; at once if the relay is gone
/// already), holds no fd, reaps every orphan of the namespace (they are reparented to it), and
/// when the serving worker (its child) ends, records how and exits: the kernel then kills every
/// process left in the namespace, and the init is reapable only once they are all gone.
[[noreturn]] void be_init(pid_t worker, Outcome* outcome, bool cpu_limited) noexcept {
  sigset_t all;
  ::sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  ::close_range(0, UINT_MAX, 0);
  for (;;) {
    siginfo_t ended{};
    if (::waitid(P_ALL, 0, &ended, WEXITED | WNOWAIT) != 0) {  // not reaped yet: its limits can be read
      if (errno == ECHILD) ::_exit(kWorkerExitNoProcessTree);
      continue;
    }
    if (ended.si_pid != worker) {
      (void)::waitpid(ended.si_pid, nullptr, 0);
      continue;
    }
    outcome->status = reap_serving_worker(worker, cpu_limited);
    outcome->recorded.store(1, std::memory_order_release);
    ::_exit(0);
  }
}

/// Ends this process as `status` (a waitpid status) says: the same exit code, or the same signal.
[[noreturn]] void end_as(int status) noexcept {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // the serving worker dumped its core if it was to
    ::signal(signal, SIG_DFL);
    sigset_t just_it;
    ::sigemptyset(&just_it);
    ::sigaddset(&just_it, signal);
    ::sigprocmask(SIG_UNBLOCK, &just_it, nullptr);
    ::raise(signal);
    ::_exit(128 + signal);  // a signal whose default is not to end a process (never a cause of death)
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : kWorkerExitNoProcessTree);
}

/// The relay: keeps no fd of the run, waits for the init (so the namespace is empty) and ends as
/// the serving worker did, or as the init did if it died first (killed: the parent cancelled).
[[noreturn]] void relay(pid_t init, const Outcome* outcome) noexcept {
  ::close_range(3, UINT_MAX, 0);
  const int init_status = wait_for(init);
  end_as(outcome->recorded.load(std::memory_order_acquire) != 0 ? outcome->status : init_status);
}

}  // namespace

ProcessTree make_process_tree(bool cpu_limited) noexcept {
  // ISOLATE_NO_PROCESS_TREE: serve without a namespace, so that bench/ can measure what the
  // namespace costs in the same run. Never for production: a job's processes then outlive it.
  if (std::getenv("ISOLATE_NO_PROCESS_TREE") != nullptr) return ProcessTree::none;
  // A pidfd of the relay, which the init polls once it has armed PR_SET_PDEATHSIG: readable if
  // the relay has exited already. (getppid() cannot tell: it says 0 for a parent outside the
  // namespace and for the host's init alike.)
  const int relay_pidfd = open_pidfd(::getpid());
  if (relay_pidfd < 0) return ProcessTree::none;  // Linux < 5.3, or no fd left: serve as before
  void* page = ::mmap(nullptr, sizeof(Outcome), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED || !unshare_pid_namespace()) {
    if (page != MAP_FAILED) ::munmap(page, sizeof(Outcome));
    ::close(relay_pidfd);
    return ProcessTree::none;
  }
  auto* outcome = new (page) Outcome;
  ::signal(SIGCHLD, SIG_DFL);  // a program that ignores SIGCHLD would leave the relay and init no status
  const pid_t init = ::fork();
  if (init < 0) ::_exit(kWorkerExitNoProcessTree);
  if (init > 0) relay(init, outcome);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  pollfd relay_exited{relay_pidfd, POLLIN, 0};
  if (::poll(&relay_exited, 1, 0) != 0) ::_exit(kWorkerExitNoProcessTree);  // before prctl
  const pid_t worker = ::fork();
  if (worker < 0) ::_exit(kWorkerExitNoProcessTree);
  if (worker > 0) be_init(worker, outcome, cpu_limited);
  // The serving worker (pid 2, or more if the init has a thread). The kernel kills it with the
  // init (no PR_SET_PDEATHSIG needed).
  ::close(relay_pidfd);
  ::munmap(page, sizeof(Outcome));
  g_serving_pid = ::getpid();
  return ProcessTree::own_namespace;
}

void end_job_processes() noexcept {
  // In the serving worker of its own namespace, or never: elsewhere (a process the job forked
  // included), -1 would mean every process of the user.
  if (g_serving_pid == 0 || ::getpid() != g_serving_pid) return;
  if (::kill(-1, SIGKILL) != 0) return;  // ESRCH: the job left no process (the common case)
  // kill(-1) reaches every process of this namespace but its init and this one; zombies count
  // until reaped, so the loop ends when the last of them is gone. Each pass kills again: a thread
  // the job left running may have forked since. One that cannot be killed for long (a job that
  // changed its processes' uid) ends the worker instead: the init then empties the namespace, and
  // the pool replaces the worker.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    while (::waitpid(-1, nullptr, WNOHANG | __WALL) > 0) {
    }
    if (::kill(-1, SIGKILL) != 0) return;
    if (std::chrono::steady_clock::now() > give_up) ::_exit(kWorkerExitNoProcessTree);
    const timespec pause{0, 100'000};
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace isolate::detail
