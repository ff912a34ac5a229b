// child_children.cpp — killing a child's children (see child_children.hpp).
#include "child_children.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "posix/fd.hpp"
#include "posix/pidfd.hpp"

namespace isolate::detail {
namespace {

/// Up to 16 children of a process (a relay has two; a worker that serves itself, its job's).
struct ChildList {
  std::array<pid_t, 16> pids{};
  std::size_t count = 0;
  [[nodiscard]] bool contains(pid_t pid) const noexcept {
    return std::find(pids.begin(), pids.begin() + static_cast<std::ptrdiff_t>(count), pid) !=
           pids.begin() + static_cast<std::ptrdiff_t>(count);
  }
};

ChildList children_listed(pid_t pid) noexcept {
  ChildList list;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/children", static_cast<int>(pid), static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return list;
  std::array<char, 256> text{};
  const ssize_t n = ::read(fd, text.data(), text.size() - 1);
  close_fd(fd);
  if (n <= 0) return list;
  const char* at = text.data();
  char* end = nullptr;
  while (list.count < list.pids.size()) {
    const long child = std::strtol(at, &end, 10);
    if (end == at || child <= 0 || child > INT_MAX) break;
    list.pids[list.count++] = static_cast<pid_t>(child);
    at = end;
  }
  return list;
}

/// What /proc/<pid>/ns/<name> links to ("pid:[4026531836]"), or "" if it cannot be read.
std::array<char, 64> namespace_of(const char* pid, const char* name) noexcept {
  std::array<char, 64> link{};
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, name);
  (void)::readlink(path, link.data(), link.size() - 1);
  return link;
}

}  // namespace

int kill_children_of(pid_t pid, int* first_pidfd) noexcept {
  if (first_pidfd != nullptr) *first_pidfd = -1;
  const ChildList listed = children_listed(pid);
  std::array<int, 16> pidfds{};
  for (std::size_t i = 0; i < listed.count; ++i) pidfds[i] = open_pidfd(listed.pids[i]);
  // Listed again after the pidfds exist: a pid still listed is still pid's child, so its pidfd
  // (opened before) is of that child and not of a process that took a freed number.
  const ChildList still = children_listed(pid);
  int killed = 0;
  for (std::size_t i = 0; i < listed.count; ++i) {
    if (pidfds[i] < 0) continue;
    if (still.contains(listed.pids[i])) {
      (void)pidfd_kill(pidfds[i]);
      if (killed++ == 0 && first_pidfd != nullptr) {
        *first_pidfd = pidfds[i];
        continue;  // the caller's now
      }
    }
    close_fd(pidfds[i]);
  }
  return killed;
}

bool made_pid_namespace(pid_t pid) noexcept {
  char number[16];
  std::snprintf(number, sizeof number, "%d", static_cast<int>(pid));
  const auto theirs = namespace_of(number, "pid_for_children");
  const auto ours = namespace_of("self", "pid");
  return theirs[0] != '\0' && ours[0] != '\0' && std::strcmp(theirs.data(), ours.data()) != 0;
}

bool kill_relay_children(pid_t pid, int* init_pidfd) noexcept {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool relay = made_pid_namespace(pid);
    // Only a relay's child (its init) is waited for; a process that serves itself has its
    // children killed, not waited for.
    const int killed = kill_children_of(pid, relay ? init_pidfd : nullptr);
    if (relay) return killed > 0;  // none listed: /proc says nothing, kill the relay after all
    if (!made_pid_namespace(pid)) return false;
  }
  return false;
}

}  // namespace isolate::detail
