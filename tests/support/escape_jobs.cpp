// escape_jobs.cpp — a job that really tries to get out of its sandbox (see escape_jobs.hpp).
#include "escape_jobs.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace isolate::test {
namespace {

/// "ok" when `result` >= 0, else the name of errno ("EACCES").
std::string outcome(long result) {
  if (result >= 0) return "ok";
  const char* name = ::strerrorname_np(errno);
  return name != nullptr ? name : "errno " + std::to_string(errno);
}

std::string read_some(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return outcome(-1);
  char buffer[64];
  const auto n = ::read(fd, buffer, sizeof buffer);
  const auto result = n < 0 ? outcome(-1) : "ok:" + std::string(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return result;
}

std::string list(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return outcome(-1);
  std::string names;
  while (const dirent* entry = ::readdir(dir)) names += std::string(entry->d_name) + " ";
  ::closedir(dir);
  return "ok:" + names;
}

std::string write_file(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | flags, 0644);
  if (fd < 0) return outcome(-1);
  const auto result = outcome(::write(fd, "escaped", 7));
  ::close(fd);
  return result;
}

std::string connect_tcp(int port, int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return outcome(-1);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto* generic = reinterpret_cast<const sockaddr*>(&address);  // NOLINT: the sockets API
  const auto result = type == SOCK_DGRAM ? outcome(::sendto(fd, "x", 1, 0, generic, sizeof address))
                                         : outcome(::connect(fd, generic, sizeof address));
  ::close(fd);
  return result;
}

std::string connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return outcome(-1);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  const auto result = outcome(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address));  // NOLINT
  ::close(fd);
  return result;
}

std::string start_child(const std::function<pid_t()>& start) {
  const pid_t pid = start();
  if (pid == 0) ::_exit(0);
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  return outcome(pid);
}

std::string threads() {
  std::atomic<long> sum{0};
  std::vector<std::thread> workers;
  for (long i = 1; i <= 4; ++i) workers.emplace_back([&sum, i] { sum += i * 10; });
  for (auto& worker : workers) worker.join();
  return "ok:" + std::to_string(sum.load());
}

std::string sigsys_then_fork(bool block) {
  if (block) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
  } else if (::signal(SIGSYS, SIG_IGN) == SIG_ERR) {  // NOLINT(cert-err33-c): the outcome is checked below
    const auto refused = outcome(-1);
    return "signal: " + refused + ", fork: " + start_child([] { return ::fork(); });
  }
  return start_child([] { return ::fork(); });
}

/// Undoes what it can of the worker's CPU limit: ignores SIGXCPU (refused in the sandbox) and
/// blocks it, deletes every POSIX timer the process may have (the worker's CPU timer among them)
/// and raises RLIMIT_CPU's soft limit to its hard one (refused in the sandbox). "ok".
std::string disarm_cpu_limit() {
  (void)::signal(SIGXCPU, SIG_IGN);  // NOLINT(cert-err33-c): refused in the sandbox, and that is fine
  sigset_t xcpu;
  ::sigemptyset(&xcpu);
  ::sigaddset(&xcpu, SIGXCPU);
  ::sigprocmask(SIG_BLOCK, &xcpu, nullptr);
  for (int id = 0; id < 64; ++id) (void)::syscall(SYS_timer_delete, id);
  rlimit cpu{};
  if (::getrlimit(RLIMIT_CPU, &cpu) == 0) {
    cpu.rlim_cur = cpu.rlim_max;
    (void)::setrlimit(RLIMIT_CPU, &cpu);
  }
  return "ok";
}

/// What a job finds of the worker's CPU limit: "handled:H blocked:B timers:N" (H: SIGXCPU has a
/// handler, B: it is blocked on this thread, N: POSIX timers that send it, /proc/self/timers).
std::string cpu_limit_state() {
  struct sigaction current {};
  ::sigaction(SIGXCPU, nullptr, &current);
  const bool handled = current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;  // NOLINT
  sigset_t mask;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  int timers = 0;
  std::ifstream listing("/proc/self/timers");
  for (std::string line; std::getline(listing, line);) {
    if (line.rfind("signal: " + std::to_string(SIGXCPU) + "/", 0) == 0) ++timers;
  }
  return "handled:" + std::to_string(handled ? 1 : 0) + " blocked:" + std::to_string(::sigismember(&mask, SIGXCPU)) +
         " timers:" + std::to_string(timers);
}

/// disarm_cpu_limit(), then spins for ever.
[[noreturn]] std::string outlast_cpu_limit() {
  (void)disarm_cpu_limit();
  std::atomic<std::uint64_t> n{0};
  for (;;) n.fetch_add(1, std::memory_order_relaxed);
}

/// What a pool worker's hostile job would do to the other workers' jobs: for 1.5 s, in every
/// shared memory file of one page it has mapped (a pool's control words live in such), it writes
/// into each 64-byte record what a worker writes when it answers: the record's request number
/// (its first word) as its answer (its third), and the plea to be replaced (its fourth: 2).
/// "ok:<pages>": how many pages it wrote through.
std::string forge_pool_answers() {
  std::vector<std::uint32_t*> pages;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find(" rw-s ") == std::string::npos || line.find("/memfd:") == std::string::npos) continue;
    const std::uintptr_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    const std::uintptr_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    if (end - start == 4096) pages.push_back(reinterpret_cast<std::uint32_t*>(start));  // NOLINT: an address
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) {
    for (auto* page : pages) {
      for (std::size_t record = 0; record < 4096 / sizeof(std::uint32_t); record += 16) {
        std::atomic_ref<std::uint32_t>(page[record + 2]).store(std::atomic_ref<std::uint32_t>(page[record]).load());
        std::atomic_ref<std::uint32_t>(page[record + 3]).store(2);
      }
    }
  }
  return "ok:" + std::to_string(pages.size());
}

std::string attempt(const std::string& what, const std::string& path, int port) {
  const std::map<std::string, std::function<std::string()>> attempts{
      {"write", [&] { return write_file(path, O_TRUNC); }},
      {"create", [&] { return write_file(path, O_CREAT | O_EXCL); }},
      {"read", [&] { return read_some(path); }},
      {"list", [&] { return list(path); }},
      {"remove", [&] { return outcome(::unlink(path.c_str())); }},
      {"rename", [&] { return outcome(::rename(path.c_str(), (path + ".moved").c_str())); }},
      {"truncate", [&] { return outcome(::truncate(path.c_str(), 0)); }},
      {"chmod", [&] { return outcome(::chmod(path.c_str(), 0777)); }},
      {"mkdir", [&] { return outcome(::mkdir(path.c_str(), 0755)); }},
      {"symlink", [&] { return outcome(::symlink("/etc/passwd", path.c_str())); }},
      {"connect", [&] { return connect_tcp(port, SOCK_STREAM); }},
      {"udp", [&] { return connect_tcp(port, SOCK_DGRAM); }},
      {"connect-unix", [&] { return connect_unix(path); }},
      {"fork", [] { return start_child([] { return ::fork(); }); }},
      {"vfork", [] { return start_child([] { return static_cast<pid_t>(::syscall(SYS_vfork)); }); }},
      {"spawn",
       [] {
         pid_t pid = 0;
         char* argv[] = {const_cast<char*>("true"), nullptr};  // NOLINT: posix_spawn's signature
         const int error = ::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ);
         if (error == 0) ::waitpid(pid, nullptr, 0);
         errno = error;
         return outcome(error == 0 ? 0 : -1);
       }},
      {"exec", [] { return outcome(::execl("/bin/true", "true", nullptr)); }},
      {"ptrace", [] { return outcome(::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr)); }},
      {"unshare", [] { return outcome(::unshare(CLONE_NEWNS)); }},
      // The system call itself: glibc's setuid() in a process with threads (a sanitizer's, say)
      // makes every thread call it from a handler that blocks all signals.
      {"setuid", [] { return outcome(::syscall(SYS_setuid, 0)); }},
      {"mount", [&] { return outcome(::mount("none", path.c_str(), "tmpfs", 0, nullptr)); }},
      {"bpf",
       [] {
         bpf_attr attr{};
         return outcome(::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
       }},
      {"signal-parent", [] { return outcome(::kill(::getppid(), SIGKILL)); }},
      {"ignore-sigsys-then-fork", [] { return sigsys_then_fork(false); }},
      {"block-sigsys-then-fork", [] { return sigsys_then_fork(true); }},
      {"thread", [] { return threads(); }},
      {"raise-rlimit",
       [] {
         const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
         return outcome(::setrlimit(RLIMIT_DATA, &unlimited));
       }},
      {"sysv-shm", [] { return outcome(::shmget(IPC_PRIVATE, std::size_t{1} << 20, IPC_CREAT | 0600)); }},
      {"ignore-sigxcpu", [] { return ::signal(SIGXCPU, SIG_IGN) == SIG_ERR ? outcome(-1) : "ok"; }},  // NOLINT
      {"raise-cpu-rlimit",
       [] {
         rlimit cpu{};
         ::getrlimit(RLIMIT_CPU, &cpu);
         const rlimit raised{RLIM_INFINITY, RLIM_INFINITY};
         return cpu.rlim_max == RLIM_INFINITY ? std::string("no limit to raise")
                                              : outcome(::setrlimit(RLIMIT_CPU, &raised));
       }},
      {"outlast-cpu-limit", [] { return outlast_cpu_limit(); }},
      {"disarm-cpu-limit", [] { return disarm_cpu_limit(); }},
      {"cpu-limit-state", [] { return cpu_limit_state(); }},
      {"forge-pool-answers", [] { return forge_pool_answers(); }},
      {"tiocsti",
       [] {
         const char c = 'x';
         return outcome(::ioctl(STDOUT_FILENO, TIOCSTI, &c));
       }},
  };
  const auto found = attempts.find(what);
  return found == attempts.end() ? "no such attempt: " + what : found->second();
}

}  // namespace

Job<nlohmann::json, std::string> escape_attempt("test.escape-attempt", [](const nlohmann::json& in) {
  return attempt(in.at("try").get<std::string>(), in.value("path", std::string()), in.value("port", 0));
});

}  // namespace isolate::test
