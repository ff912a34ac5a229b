// process_helpers.hpp — small helpers for tests that start real processes: temp files, /proc
// inspection, waiting with a deadline.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace isolate::test {

/// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("isolate-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Sets an environment variable for the scope (child processes inherit it), then restores it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// The whole content of a file ("" if it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// True when no process (not even a zombie) has this pid.
inline bool pid_gone(pid_t pid) { return !std::filesystem::exists("/proc/" + std::to_string(pid)); }

/// The value of a "Key:" line in /proc/<pid>/status (or .../task/<tid>/status), "" if absent.
inline std::string proc_status_field(const std::filesystem::path& status_file, const std::string& key) {
  std::ifstream in(status_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      auto value = line.substr(key.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "";
}

/// The number of threads of this process.
inline std::size_t thread_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

/// Polls `condition` every millisecond until it is true or `timeout` has passed.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// Waits until process `pid` is blocked in nanosleep/clock_nanosleep (e.g. /bin/sleep after its
/// start-up, when it holds exactly the fds it will keep). False on timeout or if it is gone.
inline bool wait_until_sleeping(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  return eventually(
      [&] {
        std::string number;
        std::ifstream(path) >> number;
        return number == std::to_string(SYS_clock_nanosleep) || number == std::to_string(SYS_nanosleep);
      },
      timeout);
}

/// How a program run by run_program_in_group ended.
struct ProgramRun {
  bool finished = false;           // exited (or was killed by a signal) before the deadline
  int status = 0;                  // its wait status
  bool group_left_behind = false;  // a process of its group outlived it (killed by the helper)
  std::string out;                 // its standard output
  std::string err;                 // its standard error
};

/// Runs `argv` (argv[0] is the executable) in a process group of its own, with its standard
/// output and error captured, and waits up to `deadline` for it. Then checks whether any process
/// of the group (its workers, their workers, ...) is left, and SIGKILLs the whole group whatever
/// happened: a test never leaves a process behind, even when the behaviour it checks regresses.
inline ProgramRun run_program_in_group(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  char out_name[] = "/tmp/isolate-test-out-XXXXXX";
  char err_name[] = "/tmp/isolate-test-err-XXXXXX";
  const int out_fd = ::mkstemp(out_name);
  const int err_fd = ::mkstemp(err_name);
  ProgramRun run;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with the child's own setpgid
  run.finished = eventually([&] { return ::waitpid(pid, &run.status, WNOHANG) == pid; }, deadline);
  if (!run.finished) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &run.status, 0);
  }
  // Give the group's last processes a moment to be reaped by their own parents.
  run.group_left_behind = !eventually([&] { return ::kill(-pid, 0) != 0; }, std::chrono::seconds(2));
  ::kill(-pid, SIGKILL);
  run.out = read_file(out_name);
  run.err = read_file(err_name);
  ::close(out_fd);
  ::close(err_fd);
  ::unlink(out_name);
  ::unlink(err_name);
  return run;
}

/// The open fds of process `pid` and what they refer to (readlink of /proc/<pid>/fd/N), except the
/// one this function reads the directory through (when `pid` is this process).
inline std::map<int, std::string> open_fds(pid_t pid) {
  std::map<int, std::string> fds;
  std::error_code error;
  const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/fd";
  const std::string reading_it = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    auto target = std::filesystem::read_symlink(entry.path(), error).string();
    if (pid == ::getpid() && target == reading_it) continue;
    fds[std::stoi(entry.path().filename().string())] = std::move(target);
  }
  return fds;
}

/// The open fds of this process that `before` (an earlier open_fds) did not have: none once
/// everything opened since then is closed again. (An fd that `before` caught while it was being
/// closed, and that is gone now, is not a new one.)
inline std::map<int, std::string> fds_opened_since(const std::map<int, std::string>& before) {
  std::map<int, std::string> added;
  for (auto& [fd, target] : open_fds(::getpid())) {
    const auto it = before.find(fd);
    if (it == before.end() || it->second != target) added.emplace(fd, std::move(target));
  }
  return added;
}

/// The processes of the pidfds this process opened since `before` (an earlier open_fds): each
/// one's "Pid:" in /proc/self/fdinfo (-1 once its process is reaped), once per pidfd.
inline std::multiset<pid_t> pidfd_pids_opened_since(const std::map<int, std::string>& before) {
  std::multiset<pid_t> pids;
  for (const auto& [fd, target] : fds_opened_since(before)) {
    if (target.find("pidfd") == std::string::npos) continue;
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
    for (std::string line; std::getline(info, line);) {
      if (line.rfind("Pid:", 0) == 0) pids.insert(static_cast<pid_t>(std::stol(line.substr(4))));
    }
  }
  return pids;
}

}  // namespace isolate::test
