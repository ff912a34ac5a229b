// test_programs.cpp — the extra roles of a test binary (see test_programs.hpp).
#include "test_programs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "process_helpers.hpp"
#include "test_jobs.hpp"

namespace isolate::test {

namespace {

/// "value", "isolate_error: ..." or "other: ..." for a future's outcome.
template <class T>
std::string outcome_of(std::future<T>& f) {
  if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) return "hung";
  try {
    (void)f.get();
    return "value";
  } catch (const WorkerCrashed& e) {
    if (e.signal()) return "worker_crashed signal " + std::to_string(*e.signal());
    if (e.exit_code()) return "worker_crashed exit " + std::to_string(*e.exit_code());
    return "worker_crashed without a cause";
  } catch (const IsolateError& e) {
    return std::string("isolate_error: ") + e.what();
  } catch (const CancelledException& e) {
    return std::string("cancelled: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

/// One job (a one-shot run, or on `pool`, made first if null); what became of it, in one line.
std::string run_one_job(bool on_pool, std::unique_ptr<IsolatePool>& pool) {
  try {
    if (!on_pool) {
      auto f = CancellableIsolate::run(echo, std::string("x"), {}, {.backend = Backend::process});
      return "run() returned; " + outcome_of(f);
    }
    if (!pool) pool = std::make_unique<IsolatePool>(PoolOptions{.workers = 1, .backend = Backend::process});
    auto f = pool->run(echo, std::string("x"));
    return "run() returned; " + outcome_of(f);
  } catch (const IsolateError& e) {
    return std::string("threw isolate_error: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("threw other: ") + e.what();
  }
}

/// --test-program=fd-exhaust N run|pool: uses up every fd but N, runs a job (the library's first
/// use in this process), frees the fds, runs another (on the same pool, if it could be made);
/// prints "scarce: ..." and "freed: ...".
int fd_exhaust(int free_fds, bool on_pool) {
  std::vector<int> held;
  const int base = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (int fd; (fd = ::fcntl(base, F_DUPFD_CLOEXEC, 0)) >= 0;) held.push_back(fd);
  for (int i = 0; i < free_fds && !held.empty(); ++i) {
    ::close(held.back());
    held.pop_back();
  }
  std::unique_ptr<IsolatePool> pool;
  const auto scarce = run_one_job(on_pool, pool);
  const bool same_pool = pool != nullptr;
  for (const int fd : held) ::close(fd);
  const auto freed = run_one_job(on_pool, pool);
  std::printf("scarce: %s\nfreed%s: %s\n", scarce.c_str(), same_pool ? " (same pool)" : "", freed.c_str());
  return 0;
}

/// --test-program=fork-after-use: uses the library (a run, a pool, a run still in flight), forks,
/// and uses it in the child: a new run, the parent's pool, a new pool, a timeout, a cancel of the
/// parent's run in flight, then exit() with static destructors. The parent then checks that the
/// child touched none of its workers. Prints one line per step.
int fork_after_use() {
  const RunOptions process{.backend = Backend::process};
  std::unique_ptr<IsolatePool> no_pool;
  std::printf("parent before fork: %s\n", run_one_job(false, no_pool).c_str());
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  auto warm = pool.run(echo, std::string("warm"));
  std::printf("parent pool before fork: %s\n", outcome_of(warm).c_str());
  CancellationToken in_flight;
  auto running = CancellableIsolate::run(sleep_ms, 60'000, in_flight, process);
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child == 0) {
    std::printf("child run: %s\n", run_one_job(false, no_pool).c_str());
    auto on_parents_pool = pool.run(echo, std::string("x"));
    std::printf("child on the parent's pool: %s\n", outcome_of(on_parents_pool).c_str());
    std::printf("child new pool: %s\n", run_one_job(true, no_pool).c_str());
    auto timed =
        CancellableIsolate::run(sleep_ms, 60'000, TimeoutCancellationToken(std::chrono::milliseconds(200)), process);
    std::printf("child timeout: %s\n", outcome_of(timed).c_str());
    in_flight.cancel("cancelled in the child");
    std::printf("child cancel of the parent's run: %s\n", outcome_of(running).c_str());
    std::fflush(stdout);
    std::exit(0);  // static destructors run: they must not hang or touch the parent's workers
  }
  int status = 0;
  const bool ended = eventually([&] { return ::waitpid(child, &status, WNOHANG) == child; }, std::chrono::seconds(60));
  if (!ended) ::kill(child, SIGKILL);
  std::printf("child ended: %s\n", ended && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "exit 0" : "no");
  auto after = pool.run(echo, std::string("after"));
  std::printf("parent pool after fork: %s\n", outcome_of(after).c_str());
  std::printf("parent run in flight after fork: %s\n",
              running.wait_for(std::chrono::seconds(0)) == std::future_status::ready ? "ended" : "still running");
  in_flight.cancel("cancelled in the parent");
  std::printf("parent cancel: %s\n", outcome_of(running).c_str());
  return 0;
}

/// Runs one job of each outcome (a value, a crash, an exit without a result, a cancel) as
/// one-shot runs and on a pool; prints "<how> <job>: <outcome>" lines.
void run_every_outcome() {
  const RunOptions process{.backend = Backend::process};
  IsolatePool pool({.workers = 2, .backend = Backend::process});
  for (const bool on_pool : {false, true}) {
    const char* how = on_pool ? "pool" : "run";
    auto run = [&](const auto& job, auto input, CancellationToken token = {}) {
      return on_pool ? pool.run(job, std::move(input), token)
                     : CancellableIsolate::run(job, std::move(input), token, process);
    };
    auto echoed = run(echo, std::string("x"));
    std::printf("%s echo: %s\n", how, outcome_of(echoed).c_str());
    auto crashed = run(crash, std::string());
    std::printf("%s crash: %s\n", how, outcome_of(crashed).c_str());
    auto exited = run(exit_with, 7);
    std::printf("%s exit 7: %s\n", how, outcome_of(exited).c_str());
    CancellationToken token;
    auto spinning = run(spin, std::string(), token);
    token.cancel("stop");
    std::printf("%s cancel: %s\n", how, outcome_of(spinning).c_str());
    auto after = run(echo, std::string("after"));
    std::printf("%s echo after: %s\n", how, outcome_of(after).c_str());
  }
}

/// --test-program=hostile-host MODE: a host that ignores SIGCHLD ("sigchld-ignored"), reaps every
/// child in a thread of its own ("waitpid-thread"), or ignores SIGPIPE ("sigpipe-ignored"); then
/// run_every_outcome().
int hostile_host(std::string_view mode) {
  std::atomic<bool> stop{false};
  std::thread reaper;
  if (mode == "sigchld-ignored") {
    std::signal(SIGCHLD, SIG_IGN);
  } else if (mode == "sigpipe-ignored") {
    std::signal(SIGPIPE, SIG_IGN);
  } else if (mode == "waitpid-thread") {
    reaper = std::thread([&] {
      while (!stop.load()) {
        int status = 0;
        if (::waitpid(-1, &status, WNOHANG) <= 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  } else {
    std::fprintf(stderr, "unknown mode\n");
    return 2;
  }
  run_every_outcome();
  stop = true;
  if (reaper.joinable()) reaper.join();
  return 0;
}

/// --test-program=busy-parent: runs jobs without end from three threads, so that at any moment
/// workers are being started, serving, crashing, cancelled and replaced: one-shot runs, and jobs
/// on a pool of two. The test SIGKILLs it at a random moment.
[[noreturn]] void busy_parent() {
  IsolatePool pool({.workers = 2, .backend = Backend::process});
  auto forever = [&](bool on_pool, unsigned seed) {
    std::mt19937 random(seed);
    for (;;) {  // never returns
      CancellationToken token;
      const auto kind = random() % 4;
      auto start = [&](const auto& job, auto input) {
        return on_pool ? pool.run(job, std::move(input), token)
                       : CancellableIsolate::run(job, std::move(input), token, {.backend = Backend::process});
      };
      if (kind == 0) {
        auto f = start(echo, std::string("x"));
        f.wait();
      } else if (kind == 1) {
        auto f = start(crash, std::string());
        f.wait();
      } else {
        auto f = start(spin, std::string());
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));
        token.cancel();
        f.wait();
      }
    }
  };
  std::thread a(forever, false, 1u);
  std::thread b(forever, true, 2u);
  forever(true, 3u);
  std::abort();  // not reached: forever() never returns
}

}  // namespace

std::optional<int> run_test_program_if_requested(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  const std::string_view role = argv[1];
  if (role == "--test-program=hang") {
    // A program whose main() forgot run_worker_if_requested: it never attaches.
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (role == "--test-program=fd-exhaust" && argc >= 4) {
    return fd_exhaust(std::atoi(argv[2]), std::string_view(argv[3]) == "pool");
  }
  if (role == "--test-program=fork-after-use") return fork_after_use();
  if (role == "--test-program=busy-parent") busy_parent();
  if (role == "--test-program=hostile-host" && argc >= 3) return hostile_host(argv[2]);
  if (role == "--test-program=process-starter" && argc >= 4) {
    // A parent whose job starts processes of its own and spins, on a one-shot run or a pool; the
    // test SIGKILLs it.
    const nlohmann::json input{{"dir", argv[2]}, {"then", "spin"}};
    if (std::string_view(argv[3]) == "pool") {
      IsolatePool pool({.workers = 1, .backend = Backend::process});
      pool.run(start_processes, input).wait();
    } else {
      CancellableIsolate::run(start_processes, input, {}, {.backend = Backend::process}).wait();
    }
    return 1;
  }
  if (role == "--test-program=parent" && argc >= 3) {
    // A parent that starts a spinning worker and waits forever; the test SIGKILLs it.
    auto f = CancellableIsolate::run(spin, std::string(argv[2]));
    f.wait();
    return 1;
  }
  return std::nullopt;
}

}  // namespace isolate::test
