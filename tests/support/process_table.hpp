// process_table.hpp — what a test suite must leave as it found it: this process's children and
// the names in /dev/shm.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

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

/// This process's pid as the host's /proc numbers it. A worker serves as pid 2 of a PID namespace
/// of its own, where getpid() says 2; the jobs of the tests report this number instead.
inline pid_t host_pid() { return static_cast<pid_t>(std::stol(std::filesystem::read_symlink("/proc/self").string())); }

/// The parent of process `pid` (host numbering) from /proc/<pid>/stat, or -1 if it is gone.
inline pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto after_name = stat.rfind(')');  // the name in parentheses may hold anything
  if (after_name == std::string::npos) return -1;
  char state = 0;
  long parent = -1;
  if (std::sscanf(stat.c_str() + after_name + 1, " %c %ld", &state, &parent) != 2) return -1;
  return static_cast<pid_t>(parent);
}

/// The state letter of process `pid` from /proc/<pid>/stat ('R', 'S', 'Z' for a zombie...), or 0
/// once it is gone.
inline char state_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto after_name = stat.rfind(')');
  return after_name == std::string::npos || after_name + 2 >= stat.size() ? '\0' : stat[after_name + 2];
}

/// The children of process `pid` (any state), from /proc.
inline std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> children;
  for (pid_t child = 0; in >> child;) children.push_back(child);
  return children;
}

/// The processes below `pid` (its children, theirs...) still alive: neither gone nor zombies.
inline std::vector<pid_t> live_descendants(pid_t pid) {
  std::vector<pid_t> live;
  for (const pid_t child : children_of(pid)) {
    const char state = state_of(child);
    if (state != '\0' && state != 'Z') live.push_back(child);
    for (const pid_t below : live_descendants(child)) live.push_back(below);
  }
  return live;
}

/// What still lives below this process's children that are not in `before`. Once a cancelled
/// run's future is ready nothing may: its worker's relay may still be ending (the supervisor reaps
/// it a moment later), its namespace's init may be a zombie, every other process is gone.
inline std::vector<pid_t> live_below_new_children(const std::set<pid_t>& before) {
  std::vector<pid_t> live;
  for (const pid_t child : child_pids()) {
    if (before.count(child) != 0) continue;
    for (const pid_t below : live_descendants(child)) live.push_back(below);
  }
  return live;
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
