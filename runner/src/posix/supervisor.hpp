// supervisor.hpp — the one thread that spawns and watches worker processes (internal).
//
// Defines isolate::detail::Supervisor: a long-lived thread running an event loop
// (boost::asio::io_context). Work posted to it runs there, in order. Workers are spawned from
// it because PR_SET_PDEATHSIG fires when the *thread* that spawned a child exits: spawning from
// a thread that lives as long as the program keeps the death signal for the parent's death only.
// It also watches children: when one exits it is reaped and a callback gets its ExitStatus.
// Exits are detected by waiting on each child's pidfd with epoll (no thread per child, no SIGCHLD
// handler: the host's SIGCHLD disposition is never touched); on kernels without pidfds
// (< 5.3) the watched children are polled with a non-blocking reap every 5 ms instead.
//
//   auto& supervisor = isolate::detail::Supervisor::instance();
//   supervisor.post([&] {
//     auto child = std::make_shared<ChildProcess>(ChildProcess::spawn(exe, args, fds));
//     (void)supervisor.watch(child, [](ExitStatus status) { /* on the supervisor thread */ });
//   });
#pragma once

#include "child_process.hpp"
#include "posix/fd.hpp"

#include <isolate/export.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace isolate::detail {

/// An event-loop thread that runs posted work and reaps watched children.
///
/// The process-wide instance() is created on first use and destroyed at static destruction.
/// Shutdown (the destructor): new post()s and watch()es are refused from then on; work already
/// posted still runs; every watched child is sent SIGKILL, reaped, and its on_exit runs with the
/// resulting status; then the thread is joined. A watch() made from the supervisor thread during
/// shutdown (by work that was already queued) is accepted and its child is killed at once.
///
/// Posted functions and on_exit callbacks must not throw (an exception escaping them calls
/// std::terminate) and should not block: they delay every other child's reaping, and shutdown
/// waits for them.
///
/// Signals: the thread starts with every asynchronous signal blocked, so host signal handlers
/// never run on it; children spawned from it still start with an empty mask (ChildProcess).
///
/// Thread safety: post() and watch() may be called from any thread, including from inside posted
/// work and callbacks. A Supervisor must not be destroyed from inside its own callbacks, except
/// by std::exit() (then the children are killed and reaped, but the thread is not joined).
class ISOLATE_EXPORT Supervisor {
 public:
  /// The process-wide supervisor, started on first call. Does not block (after the first call,
  /// which starts the thread). Throws std::system_error if the thread cannot be started.
  /// Thread safety: any thread. Do not call it after static destruction has destroyed it (code
  /// running in static destructors should call it once early, in its constructor, so that the
  /// supervisor outlives it).
  [[nodiscard]] static Supervisor& instance();

  /// Starts a separate supervisor (tests; production code uses instance()).
  /// Throws std::system_error if the thread cannot be started.
  Supervisor();
  /// Shuts down as described above: blocks until every watched child is reaped and every
  /// queued function and callback has run.
  ~Supervisor();  // NOLINT(bugprone-exception-escape): std::mutex::lock throws only on a deadlock
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Queues `fn` to run on the supervisor thread (FIFO). Returns false, without running or
  /// keeping fn, once shutdown has begun. Does not block; throws std::bad_alloc only.
  [[nodiscard]] bool post(std::function<void()> fn);

  /// Watches `child`: when it exits, it is reaped (try_reap; if another thread reaped it first,
  /// its cached status is used) and on_exit(status) runs on the supervisor thread, exactly once.
  /// A child that has already exited is reported promptly. Keeps `child` alive until then.
  /// Killing the child is the caller's business (child->kill() from any thread); the watch
  /// only observes. Returns false (nothing watched, on_exit never runs) for a null or empty
  /// child, or once shutdown has begun (except from the supervisor thread itself, see above).
  /// With `tree_ready_fd` (closed whatever it returns): an fd that becomes readable
  /// once the child is a worker that serves with its process tree complete (a one-shot worker's
  /// eventfd); then child->find_tree() runs on the supervisor thread, and the fd is closed (at
  /// the latest when the child has exited).
  /// Does not block; throws std::bad_alloc only.
  [[nodiscard]] bool watch(std::shared_ptr<ChildProcess> child, std::function<void(ExitStatus)> on_exit,
                           UniqueFd tree_ready_fd = {});

  /// True when called on this supervisor's thread. Does not block, never throws.
  [[nodiscard]] bool running_in_this_thread() const noexcept;
  /// True when called on the thread of any Supervisor (without creating instance()).
  [[nodiscard]] static bool on_a_supervisor_thread() noexcept;

 private:
  struct Impl;

  std::mutex mutex_;  // guards stopping_ and the hand-off of work to impl_
  bool stopping_ = false;
  std::unique_ptr<Impl> impl_;
  std::thread::id thread_id_;
};

}  // namespace isolate::detail
