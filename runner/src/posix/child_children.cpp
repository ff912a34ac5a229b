// child_children.cpp — killing a child's children (see child_children.hpp).
#include "child_children.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "posix/fd.hpp"
#include "posix/pidfd.hpp"

namespace isolate::detail {
namespace {

/// Up to 16 children of a process (a relay has one, an init one or a few; a worker that serves
/// itself, its job's).
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

/// The children of a process, each with a pidfd that is surely its (see open_children). Owns
/// the pidfds it holds; take() hands one over.
struct OpenChildren {
  std::array<pid_t, 16> pids{};
  std::array<int, 16> pidfds{};
  std::size_t count = 0;
  OpenChildren() = default;
  OpenChildren(const OpenChildren&) = delete;
  OpenChildren& operator=(const OpenChildren&) = delete;
  ~OpenChildren() {
    for (std::size_t i = 0; i < count; ++i) close_fd(pidfds[i]);
  }
  int take(std::size_t i) noexcept { return std::exchange(pidfds[i], -1); }
  void kill_all() const noexcept {
    for (std::size_t i = 0; i < count; ++i) (void)pidfd_kill(pidfds[i]);
  }
};

/// The children of `pid` /proc lists, with pidfds opened while they were listed and kept only for
/// those listed again after: a pid still listed is still pid's child, so its pidfd (opened before)
/// is of that child and not of a process that took a freed number. Valid while `pid` is a process
/// that cannot have been replaced by another of the same number (our unreaped child, or one whose
/// pidfd still_running() says has not ended after this returned).
void open_children(pid_t pid, OpenChildren& out) noexcept {
  const ChildList listed = children_listed(pid);
  std::array<int, 16> pidfds{};
  for (std::size_t i = 0; i < listed.count; ++i) pidfds[i] = open_pidfd(listed.pids[i]);
  const ChildList still = children_listed(pid);
  for (std::size_t i = 0; i < listed.count; ++i) {
    if (pidfds[i] >= 0 && still.contains(listed.pids[i])) {
      out.pids[out.count] = listed.pids[i];
      out.pidfds[out.count++] = pidfds[i];
    } else {
      close_fd(pidfds[i]);
    }
  }
}

/// True while the pidfd's process has not exited.
bool still_running(int pidfd) noexcept {
  pollfd entry{pidfd, POLLIN, 0};
  return ::poll(&entry, 1, 0) == 0;
}

/// What /proc/<pid>/ns/<name> links to ("pid:[4026531836]"), or "" if it cannot be read.
std::array<char, 64> namespace_of(const char* pid, const char* name) noexcept {
  std::array<char, 64> link{};
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, name);
  (void)::readlink(path, link.data(), link.size() - 1);
  return link;
}

/// True if `pid` made a PID namespace for its children (its pid_for_children is not ours): a
/// worker's relay, which ends by itself, once the namespace is empty, when its child (the
/// namespace's init) dies.
bool made_pid_namespace(pid_t pid) noexcept {
  char number[16];
  std::snprintf(number, sizeof number, "%d", static_cast<int>(pid));
  const auto theirs = namespace_of(number, "pid_for_children");
  const auto ours = namespace_of("self", "pid");
  return theirs[0] != '\0' && ours[0] != '\0' && std::strcmp(theirs.data(), ours.data()) != 0;
}

/// Kills the children of a relay's init (`init` of relay_children), then the init.
void kill_init_and_its_children(const OpenChildren& relay_children, std::size_t init) noexcept {
  OpenChildren below;
  open_children(relay_children.pids[init], below);
  // Listed while the init had not ended, so they were the init's children.
  if (still_running(relay_children.pidfds[init])) below.kill_all();
  (void)pidfd_kill(relay_children.pidfds[init]);
}

}  // namespace

std::optional<RelayTree> find_relay_tree(pid_t pid) noexcept {
  if (!made_pid_namespace(pid)) return std::nullopt;
  OpenChildren inits;
  open_children(pid, inits);
  if (inits.count != 1) return std::nullopt;
  OpenChildren servers;
  open_children(inits.pids[0], servers);
  // The init had not ended after its children were listed: they were its own.
  if (servers.count != 1 || !still_running(inits.pidfds[0])) return std::nullopt;
  return RelayTree{.init_pidfd = inits.take(0), .server_pidfd = servers.take(0)};
}

bool kill_relay_children(pid_t pid, int* init_pidfd) noexcept {
  if (init_pidfd != nullptr) *init_pidfd = -1;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool relay = made_pid_namespace(pid);
    OpenChildren children;
    open_children(pid, children);
    if (relay) {
      // Only a relay's child (its init) is waited for; a process that serves itself has its
      // children killed, not waited for.
      for (std::size_t i = 0; i < children.count; ++i) kill_init_and_its_children(children, i);
      if (children.count > 0 && init_pidfd != nullptr) *init_pidfd = children.take(0);
      return children.count > 0;  // none listed: /proc says nothing, kill the relay after all
    }
    children.kill_all();
    if (!made_pid_namespace(pid)) return false;
  }
  return false;
}

}  // namespace isolate::detail
