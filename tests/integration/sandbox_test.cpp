// Integration tests of Sandbox: jobs in real worker processes that really try to get out —
// write, create, remove, rename, truncate, chmod outside `readable`, read outside it, connect over
// TCP, UDP and a UNIX socket, fork, vfork, posix_spawn, exec, ptrace, unshare, setuid, mount, bpf,
// signal their parent, disarm SIGSYS — each mapped to its outcome (the call fails inside the job,
// or the worker is killed and the future throws SandboxViolation naming the call), on one-shot
// runs and pools; what the sandbox allows (reading `readable`, threads, a large response, a
// FileInput, the network when allowed) works; a pool replaces a worker the sandbox killed.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include "escape_jobs.hpp"
#include "process_helpers.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// Where a test's jobs run: a one-shot run, or a pool of one worker made for the test.
enum class Target { run, pool };

class SandboxOn : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
    if (!Sandbox::available()) GTEST_SKIP() << "this kernel cannot enforce the sandbox";
    write_text(dir_ / "secret", "secret");
  }

  template <class In, class Out>
  std::future<typename Job<In, Out>::Result> start(const Job<In, Out>& job, std::type_identity_t<In> input,
                                                   const Sandbox& sandbox = {.enabled = true}) {
    if (GetParam() == Target::run) {
      return CancellableIsolate::run(job, std::move(input), {}, {.backend = Backend::process, .sandbox = sandbox});
    }
    if (!pool_) {
      pool_ = std::make_unique<IsolatePool>(PoolOptions{.workers = 1, .backend = Backend::process, .sandbox = sandbox});
    }
    return pool_->run(job, std::move(input));
  }

  std::string attempt(const std::string& what, const std::string& path = {}, int port = 0,
                      const Sandbox& sandbox = {.enabled = true}) {
    return start(escape_attempt, json{{"try", what}, {"path", path}, {"port", port}}, sandbox).get();
  }

  /// The job is killed for `what` and the future names `call`; a pool goes on, still sandboxed.
  void expect_killed_for(const std::string& what, const std::string& call, const std::string& path = {}) {
    try {
      const auto result = attempt(what, path);
      ADD_FAILURE() << what << ": the job was not killed; it returned " << result;
    } catch (const SandboxViolation& e) {
      EXPECT_EQ(e.syscall(), call) << what << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": expected SandboxViolation(" << call << "), got: " << e.what();
    }
    if (pool_) {
      EXPECT_EQ(attempt("create", (dir_ / ("after-" + what)).string()), "EACCES") << what;
    }
  }

  static void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  TempDir dir_;
  std::unique_ptr<IsolatePool> pool_;
};

INSTANTIATE_TEST_SUITE_P(Targets, SandboxOn, ::testing::Values(Target::run, Target::pool),
                         [](const auto& param) { return param.param == Target::run ? "Run" : "Pool"; });

TEST_P(SandboxOn, NothingOutsideReadableCanBeWrittenCreatedRemovedOrChanged) {
  const auto secret = (dir_ / "secret").string();
  const auto mode_before = std::filesystem::status(secret).permissions();
  for (const auto& [what, path] :
       std::vector<std::pair<std::string, std::string>>{{"write", secret},
                                                        {"truncate", secret},
                                                        {"remove", secret},
                                                        {"rename", secret},
                                                        {"chmod", secret},
                                                        {"create", (dir_ / "new").string()},
                                                        {"mkdir", (dir_ / "newdir").string()},
                                                        {"symlink", (dir_ / "link").string()}}) {
    const auto result = attempt(what, path);
    EXPECT_TRUE(result == "EACCES" || result == "EPERM") << what << " " << path << ": " << result;
  }
  EXPECT_EQ(read_text(secret), "secret");
  EXPECT_EQ(std::filesystem::status(secret).permissions(), mode_before);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "secret.moved"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "new"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "newdir"));
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ / "link"));
}

TEST_P(SandboxOn, NothingOutsideReadableCanBeRead) {
  EXPECT_EQ(attempt("read", (dir_ / "secret").string()), "EACCES");
  EXPECT_EQ(attempt("list", dir_.path().string()), "EACCES");
  EXPECT_EQ(attempt("read", "/etc/passwd"), "EACCES");
  EXPECT_EQ(attempt("read", "/proc/self/status"), "EACCES");
}

TEST_P(SandboxOn, ReadableDirectoriesAndFilesCanBeReadButNotWritten) {
  TempDir other;
  write_text(other / "public", "public");
  const Sandbox sandbox{.enabled = true, .readable = {dir_.path(), other / "public"}};
  EXPECT_EQ(attempt("read", (dir_ / "secret").string(), 0, sandbox), "ok:secret");
  EXPECT_EQ(attempt("list", dir_.path().string(), 0, sandbox).substr(0, 3), "ok:");
  EXPECT_EQ(attempt("read", (other / "public").string(), 0, sandbox), "ok:public");
  EXPECT_EQ(attempt("list", other.path().string(), 0, sandbox), "EACCES") << "a readable file opens no directory";
  EXPECT_EQ(attempt("write", (dir_ / "secret").string(), 0, sandbox), "EACCES");
  EXPECT_EQ(attempt("create", (dir_ / "new").string(), 0, sandbox), "EACCES");
  EXPECT_EQ(read_text(dir_ / "secret"), "secret");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "new"));
}

/// The process's working directory for the scope, then the one before.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const std::filesystem::path& path) : previous_(std::filesystem::current_path()) {
    std::filesystem::current_path(path);
  }
  ~WorkingDirectory() {
    std::error_code ignored;
    std::filesystem::current_path(previous_, ignored);
  }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  std::filesystem::path previous_;
};

TEST_P(SandboxOn, RelativeReadablePathsAreTheCallersEvenIfItChangesDirectoryLater) {
  const json read_secret{{"try", "read"}, {"path", (dir_ / "secret").string()}};
  std::future<std::string> first;
  {
    WorkingDirectory in_dir(dir_.path());
    first = start(escape_attempt, read_secret, {.enabled = true, .readable = {"secret"}});
  }
  WorkingDirectory elsewhere("/");  // a run's worker still starting, or a pool's next one, starts from here
  EXPECT_EQ(first.get(), "ok:secret");
  if (pool_) {  // the worker the pool starts after this one is killed
    EXPECT_THROW((void)attempt("fork"), SandboxViolation);
    EXPECT_EQ(start(escape_attempt, read_secret).get(), "ok:secret");
  }
}

/// A TCP listener and a UDP socket on 127.0.0.1 that record whether anything reached them.
class LoopbackServer {
 public:
  LoopbackServer() {
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    auto* generic = reinterpret_cast<sockaddr*>(&address);  // NOLINT: the sockets API
    EXPECT_EQ(::bind(tcp_, generic, size), 0);
    EXPECT_EQ(::listen(tcp_, 8), 0);
    EXPECT_EQ(::getsockname(tcp_, generic, &size), 0);
    port_ = ntohs(address.sin_port);
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    EXPECT_EQ(::bind(udp_, generic, sizeof address), 0);  // the same port number, for UDP
  }
  ~LoopbackServer() {
    ::close(tcp_);
    ::close(udp_);
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] bool accepted_a_connection() const {
    const int fd = ::accept(tcp_, nullptr, nullptr);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  }
  [[nodiscard]] bool received_a_datagram() const {
    char byte = 0;
    return ::recv(udp_, &byte, 1, 0) == 1;
  }

 private:
  int tcp_ = -1;
  int udp_ = -1;
  int port_ = 0;
};

TEST_P(SandboxOn, NoPacketLeavesWithoutNetwork) {
  LoopbackServer server;
  EXPECT_EQ(attempt("connect", {}, server.port()), "EACCES");
  EXPECT_EQ(attempt("udp", {}, server.port()), "EACCES");
  EXPECT_FALSE(server.accepted_a_connection());
  EXPECT_FALSE(server.received_a_datagram());
}

TEST_P(SandboxOn, NoUnixSocketCanBeReachedWithoutNetwork) {
  const auto path = (dir_ / "socket").string();
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);  // NOLINT
  ASSERT_EQ(::listen(listener, 8), 0);
  EXPECT_EQ(attempt("connect-unix", path), "EACCES");
  const int accepted = ::accept(listener, nullptr, nullptr);
  EXPECT_LT(accepted, 0) << "the job reached the socket";
  if (accepted >= 0) ::close(accepted);
  ::close(listener);
}

TEST_P(SandboxOn, TheNetworkWorksWhenAllowed) {
  LoopbackServer server;
  EXPECT_EQ(attempt("connect", {}, server.port(), {.enabled = true, .network = true}), "ok");
  EXPECT_TRUE(server.accepted_a_connection());
}

TEST_P(SandboxOn, StartingAProcessKillsTheWorkerAndNamesTheCall) {
  expect_killed_for("fork", "fork");
  expect_killed_for("vfork", "vfork");
  // posix_spawn blocks every signal around its clone, so the kernel's default action for SIGSYS
  // kills the worker before the handler can name the call.
  expect_killed_for("spawn", "unknown");
  expect_killed_for("exec", "execve");
}

TEST_P(SandboxOn, PrivilegedCallsKillTheWorkerAndNameTheCall) {
  expect_killed_for("ptrace", "ptrace");
  expect_killed_for("unshare", "unshare");
  expect_killed_for("setuid", "setuid");
  expect_killed_for("mount", "mount", dir_.path().string());
  expect_killed_for("bpf", "bpf");
}

TEST_P(SandboxOn, AJobCannotDisarmTheFilterThroughSigsys) {
  try {
    const auto result = attempt("ignore-sigsys-then-fork");
    ADD_FAILURE() << "the job was not killed; it returned " << result;
  } catch (const SandboxViolation& e) {
    EXPECT_EQ(e.syscall(), "fork") << e.what();
  }
  // Blocked, SIGSYS still kills (the kernel's default action): the call goes unnamed.
  try {
    const auto result = attempt("block-sigsys-then-fork");
    ADD_FAILURE() << "the job was not killed; it returned " << result;
  } catch (const SandboxViolation& e) {
    EXPECT_EQ(e.syscall(), "unknown") << e.what();
  }
}

TEST_P(SandboxOn, AJobCannotSignalAProcessOutsideItsSandbox) { EXPECT_EQ(attempt("signal-parent"), "EPERM"); }

TEST_P(SandboxOn, AJobCannotLoosenItsLimitsOrTypeIntoATerminal) {
  EXPECT_EQ(attempt("raise-rlimit"), "EPERM");
  EXPECT_EQ(attempt("sysv-shm"), "EPERM");
  EXPECT_EQ(attempt("ignore-sigxcpu"), "EPERM");
  EXPECT_EQ(attempt("tiocsti"), "EPERM");
}

TEST_P(SandboxOn, ThreadsLargeResponsesAndAFileInputStillWork) {
  EXPECT_EQ(attempt("thread"), "ok:100");
  EXPECT_EQ(start(output_of, std::int64_t{32} << 20).get().size(), std::size_t{32} << 20);  // the channel grows
  if (GetParam() == Target::run) {
    const int fd = ::open((dir_ / "secret").c_str(), O_RDONLY | O_CLOEXEC);  // not readable by the job
    ASSERT_GE(fd, 0);
    auto future =
        CancellableIsolate::run(echo, FileInput{fd}, {}, {.backend = Backend::process, .sandbox = {.enabled = true}});
    ::close(fd);
    EXPECT_EQ(future.get(), "secret");
  }
}

TEST_P(SandboxOn, LimitsHoldInsideTheSandbox) {
  const Sandbox sandbox{.enabled = true};
  const Limits limits{.cpu_time = 200ms};
  auto future = GetParam() == Target::run
                    ? CancellableIsolate::run(burn_cpu_ms, std::int64_t{60'000}, {},
                                              {.backend = Backend::process, .limits = limits, .sandbox = sandbox})
                    : (pool_ = std::make_unique<IsolatePool>(PoolOptions{
                           .workers = 1, .backend = Backend::process, .limits = limits, .sandbox = sandbox}))
                          ->run(burn_cpu_ms, std::int64_t{60'000});
  EXPECT_THROW((void)future.get(), ResourceLimitExceeded);
}

TEST_P(SandboxOn, AJobCannotOutlastItsCpuLimitByBlockingSigxcpuDeletingItsTimerOrRaisingRlimitCpu) {
  const Limits limits{.cpu_time = 200ms};
  const Sandbox sandbox{.enabled = true};
  const auto run = [&](const std::string& what) -> std::future<std::string> {
    const json in{{"try", what}};
    if (GetParam() == Target::run) {
      return CancellableIsolate::run(escape_attempt, in, {},
                                     {.backend = Backend::process, .limits = limits, .sandbox = sandbox});
    }
    if (!pool_) {
      pool_ = std::make_unique<IsolatePool>(
          PoolOptions{.workers = 1, .backend = Backend::process, .limits = limits, .sandbox = sandbox});
    }
    return pool_->run(escape_attempt, in);
  };
  EXPECT_EQ(run("raise-cpu-rlimit").get(), "EPERM");
  auto outlast = run("outlast-cpu-limit");
  ASSERT_EQ(outlast.wait_for(60s), std::future_status::ready) << "the job outlasted its CPU limit";
  try {
    (void)outlast.get();
    FAIL() << "the job returned";
  } catch (const ResourceLimitExceeded& e) {
    EXPECT_EQ(e.resource(), ResourceLimitExceeded::Resource::cpu_time) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "expected ResourceLimitExceeded(cpu_time), got: " << e.what();
  }
}

// A pool worker's job (say, a parser a hostile input took over) writes a forged answer into every
// pool control record it can reach while another worker's job runs: that job must still end with
// its own value, and the pool serve on. Without a sandbox: what this shows is that the other
// workers' control words are not in this worker's memory at all, whatever the job may call.
TEST(PoolIsolation, AJobCannotForgeTheAnswerOfAnotherWorkersJob) {
  if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  IsolatePool pool(PoolOptions{.workers = 2, .backend = Backend::process});
  auto first = pool.run(sleep_ms, 100);
  auto second = pool.run(sleep_ms, 100);  // on the other worker: both serve from here on
  EXPECT_EQ(first.get() + second.get(), 200);
  auto victim = pool.run(sleep_ms, 1500);
  auto forger = pool.run(escape_attempt, json{{"try", "forge-pool-answers"}});
  ASSERT_EQ(forger.wait_for(60s), std::future_status::ready);
  try {
    EXPECT_EQ(forger.get().substr(0, 3), "ok:");
  } catch (const IsolateError& e) {
    // Its own answer, forged too, may end its own job early: that is its own business.
    std::printf("[ forger   ] its own job ended: %s\n", e.what());
  }
  try {
    EXPECT_EQ(victim.get(), 1500);
  } catch (const std::exception& e) {
    FAIL() << "another worker's job was ended by a forged answer: " << e.what();
  }
  EXPECT_EQ(pool.run(echo, std::string("serving")).get(), "serving");
}

}  // namespace
}  // namespace isolate::test
