// process_helpers.hpp — small helpers for tests that start real processes: temp files, /proc
// inspection, waiting with a deadline.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

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
inline bool pid_gone(pid_t pid) {
  return !std::filesystem::exists("/proc/" + std::to_string(pid));
}

/// The value of a "Key:" line in /proc/<pid>/status (or .../task/<tid>/status), "" if absent.
inline std::string proc_status_field(const std::filesystem::path& status_file,
                                     const std::string& key) {
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
inline bool wait_until_sleeping(pid_t pid,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  return eventually(
      [&] {
        std::string number;
        std::ifstream(path) >> number;
        return number == std::to_string(SYS_clock_nanosleep) ||
               number == std::to_string(SYS_nanosleep);
      },
      timeout);
}

/// The open fds of process `pid` and what they refer to (readlink of /proc/<pid>/fd/N).
inline std::map<int, std::string> open_fds(pid_t pid) {
  std::map<int, std::string> fds;
  std::error_code error;
  const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    fds[std::stoi(entry.path().filename().string())] =
        std::filesystem::read_symlink(entry.path(), error).string();
  }
  return fds;
}

}  // namespace isolate::test
