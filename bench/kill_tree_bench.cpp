// kill_tree_bench — what ending a worker's process tree costs, design by design, next to the floor
// (SIGKILL -> reaped of one spinning child), all interleaved in the same run.
//
// A worker is three processes (worker/src/posix/process_tree.hpp): the relay (the parent's child)
// made a PID namespace, its child the init (pid 1) forked the serving worker (pid 2). The tree
// here is built the same way from forks of this program, with a worker that has touched an 8 MiB
// heap and spins. The ways of ending it:
//   raw_kill        the floor: SIGKILL a lone spinning child, reap it (no tree);
//   chain           today's cancel: SIGKILL the init, reap the relay (the worker dies with its
//                   namespace, the init ends once it is empty, the relay then ends, then we
//                   wake: three exits and three wake-ups one after the other);
//   init_and_relay  SIGKILL the init and the relay at once, reap the relay and wait for the init's
//                   pidfd (the relay need not wake from its waitpid);
//   init_pidfd      SIGKILL the init, wait for its pidfd only (readable once the namespace is
//                   empty), and reap the relay afterwards, off the measured path.
// Needs a PID namespace: root, or user namespaces (as the library's own tree); skipped otherwise.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "interleaved.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using isolate::bench::Interleaved;

int pidfd_of(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
void sigkill(int pidfd) { (void)::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0); }
void wait_readable(int pidfd) {
  pollfd entry{pidfd, POLLIN, 0};
  while (::poll(&entry, 1, -1) < 0 && errno == EINTR) {
  }
}
void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// A spinning process with an 8 MiB heap touched; writes one byte to `ready` first.
[[noreturn]] void spin(int ready) {
  auto* heap = static_cast<char*>(std::malloc(8u << 20));
  std::memset(heap, 1, 8u << 20);
  benchmark::DoNotOptimize(heap);
  (void)::write(ready, "x", 1);
  for (;;) benchmark::ClobberMemory();
}

/// Runs `child` in a forked process and returns its pid once it said it is ready (or ended).
template <class Child>
pid_t start(Child child) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    child(pipe_fds[1]);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  char byte;
  while (::read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(pipe_fds[0]);
  return pid;
}

/// The first child of `pid` as /proc lists it.
pid_t child_of(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  pid_t child = 0;
  if (FILE* file = std::fopen(path.c_str(), "r")) {
    if (std::fscanf(file, "%d", &child) != 1) child = 0;
    std::fclose(file);
  }
  return child;
}

bool unshare_pid_namespace() {
  if (::unshare(CLONE_NEWPID) == 0) return true;
  const std::string uid = std::to_string(::geteuid()), gid = std::to_string(::getegid());
  if (::unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) return false;
  const auto write = [](const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    const bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    return ok;
  };
  return write("/proc/self/setgroups", "deny") && write("/proc/self/uid_map", uid + " " + uid + " 1") &&
         write("/proc/self/gid_map", gid + " " + gid + " 1");
}

/// A relay, its init and a spinning worker, as worker/src/posix/process_tree.cpp makes them.
struct Tree {
  pid_t relay = 0;
  int relay_pidfd = -1;
  int init_pidfd = -1;
};

Tree start_tree() {
  Tree tree;
  tree.relay = start([](int ready) {
    if (!unshare_pid_namespace()) ::_exit(1);  // the benchmark sees no init and skips
    const pid_t init = ::fork();
    if (init > 0) {  // the relay: waits for the init, ends as it did
      ::close(ready);
      int status = 0;
      while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {
      }
      if (WIFSIGNALED(status)) ::raise(WTERMSIG(status));
      ::_exit(0);
    }
    const pid_t worker = ::fork();
    if (worker == 0) spin(ready);
    ::close(ready);
    sigset_t all;
    ::sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    for (;;) {  // the init: reaps, ends when the worker does
      if (::waitpid(-1, nullptr, 0) == worker) ::_exit(0);
    }
  });
  tree.relay_pidfd = pidfd_of(tree.relay);
  const pid_t init = child_of(tree.relay);
  tree.init_pidfd = init > 0 ? pidfd_of(init) : -1;
  return tree;
}

void close_tree(const Tree& tree) {
  ::close(tree.relay_pidfd);
  if (tree.init_pidfd >= 0) ::close(tree.init_pidfd);
}

double raw_kill() {
  const pid_t pid = start(spin);
  const int pidfd = pidfd_of(pid);
  const auto t0 = Clock::now();
  sigkill(pidfd);
  reap(pid);
  const double seconds = since(t0);
  ::close(pidfd);
  return seconds;
}

template <class End>
double end_tree(End end) {
  const Tree tree = start_tree();
  if (tree.init_pidfd < 0) {
    reap(tree.relay);
    close_tree(tree);
    return -1;
  }
  const auto t0 = Clock::now();
  end(tree);
  const double seconds = since(t0);
  reap(tree.relay);  // init_pidfd: the relay is reaped here, off the measured path
  close_tree(tree);
  return seconds;
}

void BM_EndAWorkersTree(benchmark::State& state) {
  if (end_tree([](const Tree& tree) { sigkill(tree.init_pidfd); }) < 0) {
    state.SkipWithError("no PID namespace here (neither root nor user namespaces)");
    return;
  }
  Interleaved ways;
  ways.add("raw_kill", raw_kill);
  ways.add("chain", [] {
    return end_tree([](const Tree& tree) {
      sigkill(tree.init_pidfd);
      reap(tree.relay);
    });
  });
  ways.add("init_and_relay", [] {
    return end_tree([](const Tree& tree) {
      sigkill(tree.init_pidfd);
      sigkill(tree.relay_pidfd);
      reap(tree.relay);
      wait_readable(tree.init_pidfd);
    });
  });
  ways.add("init_pidfd", [] {
    return end_tree([](const Tree& tree) {
      sigkill(tree.init_pidfd);
      wait_readable(tree.init_pidfd);
    });
  });
  ways.run(state);
}
BENCHMARK(BM_EndAWorkersTree)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(300);

}  // namespace

BENCHMARK_MAIN();
