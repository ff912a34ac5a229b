// start_process.cpp — start_process: posix_spawn's file actions and attributes, built in parts.
#include "start_process.hpp"

#include <isolate/errors.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <system_error>

#include "posix/fd.hpp"

extern "C" {
extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared
}

namespace isolate::detail {
namespace {

/// "cannot start 'exe': why".
class SpawnFailure {
 public:
  explicit SpawnFailure(const std::filesystem::path& executable) : executable_(executable.string()) {}
  [[nodiscard]] IsolateError operator()(const std::string& why) const {
    return IsolateError("cannot start '" + executable_ + "': " + why);
  }
  /// Throws unless `rc` (a posix_spawn* result) is 0.
  void check(int rc, const char* call) const {
    if (rc != 0) throw(*this)(std::string(call) + ": " + std::system_category().message(rc));
  }

 private:
  std::string executable_;
};

struct FileActions {
  posix_spawn_file_actions_t value{};
  explicit FileActions(const SpawnFailure& fail) {
    fail.check(::posix_spawn_file_actions_init(&value), "posix_spawn_file_actions_init");
  }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&value); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

struct SpawnAttributes {
  posix_spawnattr_t value{};
  explicit SpawnAttributes(const SpawnFailure& fail) {
    fail.check(::posix_spawnattr_init(&value), "posix_spawnattr_init");
  }
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&value); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

/// Copies of the fds to pass, numbered above the child's target range; closed on scope exit.
///
/// The child gets inherit_fds[i] as fd 3 + i. A source number may equal a target number, and
/// dup2(x, x) would keep FD_CLOEXEC, and one dup2 could overwrite the source of a later one. So
/// every source is first duplicated above the whole target range (close-on-exec here, so no
/// concurrently spawned child gets them); in the child the dup2s then never collide, each clears
/// FD_CLOEXEC on its target, and closefrom(3 + n) drops the copies with everything else.
struct FdCopies {
  std::vector<int> fds;
  FdCopies(const std::vector<int>& sources, int first_free, const SpawnFailure& fail) {
    fds.reserve(sources.size());
    for (const int fd : sources) {
      const int copy = fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, first_free);
      if (copy < 0) {
        const int error = fd < 0 ? EBADF : errno;  // before building the message
        throw fail("cannot pass fd " + std::to_string(fd) + ": " + std::system_category().message(error));
      }
      fds.push_back(copy);
    }
  }
  ~FdCopies() {
    for (const int fd : fds) close_fd(fd);
  }
  FdCopies(const FdCopies&) = delete;
  FdCopies& operator=(const FdCopies&) = delete;
};

/// The child's fds: 0-2 as `stdio` says, the copies as 3, 4, ..., and nothing above.
void add_fd_actions(FileActions& actions, const FdCopies& copies, Stdio stdio, const SpawnFailure& fail) {
  for (std::size_t i = 0; i < copies.fds.size(); ++i) {
    fail.check(::posix_spawn_file_actions_adddup2(&actions.value, copies.fds[i], 3 + static_cast<int>(i)),
               "posix_spawn_file_actions_adddup2");
  }
  if (stdio != Stdio::inherit) {
    fail.check(::posix_spawn_file_actions_addopen(&actions.value, 0, "/dev/null", O_RDONLY, 0),
               "posix_spawn_file_actions_addopen");
  }
  if (stdio == Stdio::null) {
    fail.check(::posix_spawn_file_actions_addopen(&actions.value, 1, "/dev/null", O_WRONLY, 0),
               "posix_spawn_file_actions_addopen");
    fail.check(::posix_spawn_file_actions_adddup2(&actions.value, 1, 2), "posix_spawn_file_actions_adddup2");
  }
  fail.check(::posix_spawn_file_actions_addclosefrom_np(&actions.value, 3 + static_cast<int>(copies.fds.size())),
             "posix_spawn_file_actions_addclosefrom_np");
}

/// An empty signal mask and every signal at its default, whatever this process blocks or ignores.
void add_clean_signals(SpawnAttributes& attributes, const SpawnFailure& fail) {
  sigset_t empty;
  sigset_t all;
  ::sigemptyset(&empty);
  ::sigfillset(&all);
  fail.check(::posix_spawnattr_setsigmask(&attributes.value, &empty), "posix_spawnattr_setsigmask");
  fail.check(::posix_spawnattr_setsigdefault(&attributes.value, &all), "posix_spawnattr_setsigdefault");
  fail.check(::posix_spawnattr_setflags(&attributes.value, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
             "posix_spawnattr_setflags");
}

/// A null-terminated array of pointers into `strings` (which must outlive it).
std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

/// argv: the executable, then `args`, then null. The pointers point into `storage`.
struct Argv {
  std::vector<std::string> storage;
  std::vector<char*> pointers;
  Argv(const std::string& executable, const std::vector<std::string>& args) {
    storage.reserve(args.size() + 1);
    storage.push_back(executable);
    storage.insert(storage.end(), args.begin(), args.end());
    pointers = pointers_to(storage);
  }
};

}  // namespace

pid_t start_process(const std::filesystem::path& executable, const std::vector<std::string>& args,
                    const std::vector<int>& inherit_fds, Stdio stdio, const std::vector<std::string>& environment) {
  const SpawnFailure fail(executable);
  const FdCopies copies(inherit_fds, static_cast<int>(3 + inherit_fds.size()), fail);
  FileActions actions(fail);
  add_fd_actions(actions, copies, stdio, fail);
  SpawnAttributes attributes(fail);
  add_clean_signals(attributes, fail);
  Argv argv(executable.string(), args);
  std::vector<std::string> environment_copy = environment;
  const auto envp = pointers_to(environment_copy);
  pid_t pid = -1;
  if (const int rc = ::posix_spawn(&pid, argv.storage.front().c_str(), &actions.value, &attributes.value,
                                   argv.pointers.data(), environment.empty() ? environ : envp.data());
      rc != 0) {
    throw fail(std::system_category().message(rc));
  }
  return pid;
}

}  // namespace isolate::detail
