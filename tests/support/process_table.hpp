// process_table.hpp — what a test suite must leave as it found it: this process's children and
// the names in /dev/shm.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace isolate::test {

/// The pids of this process's children (any state, zombies included), from /proc.
inline std::set<pid_t> child_pids() {
  std::set<pid_t> children;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "children");
    pid_t pid;
    while (in >> pid) children.insert(pid);
  }
  return children;
}

/// The names in /dev/shm.
inline std::set<std::string> shm_names() {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

}  // namespace isolate::test
