// supervisor.cpp — Supervisor: one asio event-loop thread that runs posted work and reaps
// watched children through their pidfds.
#include "supervisor.hpp"

#include <isolate/detail/executor.hpp>
#include <isolate/detail/timer_service.hpp>

// ThreadSanitizer does not model std::atomic_thread_fence (g++ 12 rejects it under -Werror=tsan).
// asio's fenced blocks only order handler memory that is already published through the
// scheduler's mutex, so they are dropped in TSan builds. Keep this before any asio include; a
// project-wide definition in TSan builds would be better still (ODR: every TU alike).
#if defined(__SANITIZE_THREAD__) && !defined(BOOST_ASIO_DISABLE_FENCED_BLOCK)
#define BOOST_ASIO_DISABLE_FENCED_BLOCK 1
#endif

#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "per_process.hpp"
#include "posix/fd.hpp"

namespace isolate::detail {

namespace asio = boost::asio;

namespace {

thread_local bool t_supervisor_thread = false;

/// How often children without a pidfd are polled (kernels < 5.3 only).
constexpr std::chrono::milliseconds kPollInterval{5};

/// Runs a callback that must not throw; if it does, std::terminate (noexcept boundary).
template <class F, class... Args>
void call_noexcept(F& fn, Args&&... args) noexcept {
  fn(std::forward<Args>(args)...);
}

/// Blocks every asynchronous signal in the calling thread for its lifetime, restoring the old
/// mask at scope exit. Threads created meanwhile inherit the blocked mask.
class BlockAsyncSignals {
 public:
  BlockAsyncSignals() noexcept {
    sigset_t all;
    ::sigfillset(&all);
    for (const int sync_signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) {
      ::sigdelset(&all, sync_signal);  // blocking signals raised by faults is undefined
    }
    ::pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~BlockAsyncSignals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockAsyncSignals(const BlockAsyncSignals&) = delete;
  BlockAsyncSignals& operator=(const BlockAsyncSignals&) = delete;

 private:
  sigset_t old_{};
};

}  // namespace

struct Supervisor::Impl {
  struct Watch {
    std::shared_ptr<ChildProcess> child;
    std::function<void(ExitStatus)> on_exit;
    // Waits on a dup of the child's pidfd (the descriptor owns and closes the dup; the child's
    // own pidfd is never handed to asio). Null: the child is polled by the timer instead.
    std::unique_ptr<asio::posix::stream_descriptor> descriptor;
    // Readable once the child's worker serves with its process tree complete (see watch()).
    std::unique_ptr<asio::posix::stream_descriptor> tree_ready;
  };

  // Declared first, destroyed last: everything below that refers to it goes before it.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};

  // Touched only on the supervisor thread (or after it has ended).
  std::unordered_map<std::uint64_t, Watch> watches;
  std::uint64_t next_id = 0;
  std::size_t polled = 0;  // watches without a descriptor
  asio::steady_timer poll_timer{io};
  bool poll_timer_armed = false;
  bool killing_all = false;  // shutdown began: new watches kill their child at once

  std::thread thread;

  void add_watch(std::shared_ptr<ChildProcess> child, std::function<void(ExitStatus)> on_exit,
                 std::unique_ptr<asio::posix::stream_descriptor> tree_ready) {
    if (killing_all) {
      child->kill();
    }
    if (auto status = child->try_reap()) {
      call_noexcept(on_exit, *status);
      return;
    }
    const std::uint64_t id = next_id++;
    if (tree_ready) {
      tree_ready->async_wait(asio::posix::descriptor_base::wait_read,
                             [this, id](const boost::system::error_code& error) { on_tree_ready(id, error); });
    }
    Watch watch{std::move(child), std::move(on_exit), nullptr, std::move(tree_ready)};
    const int pidfd = watch.child->pidfd();
    if (pidfd >= 0) {
      const int copy = ::fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
      if (copy >= 0) {
        auto descriptor = std::make_unique<asio::posix::stream_descriptor>(io);
        boost::system::error_code error;
        descriptor->assign(copy, error);  // on success the descriptor owns `copy`
        if (error) {
          ::close(copy);
        } else {
          // Safe from lost wake-ups: the reactor only runs on this thread, so no readiness
          // can be consumed between assign and async_wait.
          descriptor->async_wait(asio::posix::descriptor_base::wait_read,
                                 [this, id](const boost::system::error_code&) { on_ready(id); });
          watch.descriptor = std::move(descriptor);
        }
      }
    }
    const bool poll = !watch.descriptor;
    watches.emplace(id, std::move(watch));
    if (poll) {
      start_polling();
    }
  }

  /// The pidfd became readable (the child exited), or the wait failed.
  void on_ready(std::uint64_t id) {
    const auto it = watches.find(id);
    if (it == watches.end()) {
      return;
    }
    if (auto status = it->second.child->try_reap()) {
      finish(it, *status);
      return;
    }
    // Woken without an exit (a failed wait): never trust the edge again, poll this child.
    it->second.descriptor.reset();
    start_polling();
  }

  /// The child's worker serves: its tree is found now, off the path of a later kill.
  void on_tree_ready(std::uint64_t id, const boost::system::error_code& error) {
    const auto it = watches.find(id);
    if (error == asio::error::operation_aborted || it == watches.end()) return;  // it has ended
    it->second.child->find_tree();
    it->second.tree_ready.reset();
  }

  void start_polling() {
    ++polled;
    if (!poll_timer_armed) {
      arm_poll_timer();
    }
  }

  void arm_poll_timer() {
    poll_timer_armed = true;
    poll_timer.expires_after(kPollInterval);
    poll_timer.async_wait([this](const boost::system::error_code&) { on_poll_tick(); });
  }

  void on_poll_tick() {
    poll_timer_armed = false;
    std::vector<std::pair<std::uint64_t, ExitStatus>> done;
    for (auto& [id, watch] : watches) {
      if (!watch.descriptor) {
        if (auto status = watch.child->try_reap()) {
          done.emplace_back(id, *status);
        }
      }
    }
    for (const auto& [id, status] : done) {
      if (const auto it = watches.find(id); it != watches.end()) {
        --polled;
        finish(it, status);
      }
    }
    if (polled > 0 && !poll_timer_armed) {
      arm_poll_timer();
    }
  }

  /// Forgets the watch, then runs its callback (so the callback may add watches freely).
  void finish(std::unordered_map<std::uint64_t, Watch>::iterator it, ExitStatus status) {
    Watch watch = std::move(it->second);
    watches.erase(it);
    watch.descriptor.reset();  // closes our dup of the pidfd
    watch.tree_ready.reset();
    call_noexcept(watch.on_exit, status);
  }

  void kill_all() {
    killing_all = true;
    for (auto& [id, watch] : watches) {
      watch.child->kill();
    }
  }

  /// Used only when the supervisor is destroyed on its own thread (std::exit from a callback):
  /// the loop cannot be drained, so kill and reap synchronously.
  void kill_and_reap_all_now() noexcept {
    killing_all = true;
    while (!watches.empty()) {
      auto it = watches.begin();
      it->second.child->kill();
      const ExitStatus status = it->second.child->wait();
      if (!it->second.descriptor) {
        --polled;
      }
      finish(it, status);
    }
  }
};

Supervisor& Supervisor::instance() {
  // The executor and the timer service outlive the supervisor (made first, destroyed last): its
  // thread hands exits to the executor and cancels timers up to the join in ~Supervisor.
  static const bool services_first =
      (static_cast<void>(Executor::instance()), static_cast<void>(TimerService::instance()), true);
  static PerProcess<Supervisor> supervisor;
  (void)services_first;
  return supervisor.get();
}

Supervisor::Supervisor() : impl_(std::make_unique<Impl>()) {
  {
    const BlockAsyncSignals blocked;  // the new thread inherits the blocked mask
    impl_->thread = std::thread([impl = impl_.get()] {
      ::pthread_setname_np(::pthread_self(), "isolate-superv");
      t_supervisor_thread = true;
      impl->io.run();
    });
  }
  thread_id_ = impl_->thread.get_id();
}

// NOLINTNEXTLINE(bugprone-exception-escape): std::mutex::lock throws only for a deadlock or a bad mutex
Supervisor::~Supervisor() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (!impl_) {
    return;
  }
  if (running_in_this_thread()) {
    // Destroyed on our own thread (std::exit called from a callback): we are inside io.run(),
    // which cannot be joined or unwound from here. Reap synchronously and leak the loop.
    impl_->kill_and_reap_all_now();
    impl_->thread.detach();
    (void)impl_.release();  // NOLINT(bugprone-unused-return-value): deliberately leaked
    return;
  }
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] { impl->kill_all(); });
  impl->guard.reset();  // run() returns once the queue is drained and every watch has finished
  impl->thread.join();
  const std::lock_guard lock(mutex_);
  impl_.reset();
}

bool Supervisor::post(std::function<void()> fn) {
  const std::lock_guard lock(mutex_);
  if (stopping_ || !impl_) {
    return false;
  }
  asio::post(impl_->io, [fn = std::move(fn)]() mutable { call_noexcept(fn); });
  return true;
}

bool Supervisor::watch(std::shared_ptr<ChildProcess> child, std::function<void(ExitStatus)> on_exit,
                       UniqueFd tree_ready_fd) {
  if (!child || child->pid() <= 0) {
    return false;
  }
  const std::lock_guard lock(mutex_);
  if (!impl_ || (stopping_ && !running_in_this_thread())) {
    return false;
  }
  Impl* impl = impl_.get();
  std::unique_ptr<asio::posix::stream_descriptor> tree_ready;
  if (tree_ready_fd.get() >= 0) {
    tree_ready = std::make_unique<asio::posix::stream_descriptor>(impl->io);
    boost::system::error_code error;
    tree_ready->assign(tree_ready_fd.get(), error);
    if (error) {
      tree_ready.reset();  // the kill finds the tree itself
    } else {
      (void)tree_ready_fd.release();  // the descriptor's now
    }
  }
  asio::post(impl->io, [impl, child = std::move(child), on_exit = std::move(on_exit),
                        tree_ready = std::move(tree_ready)]() mutable {
    impl->add_watch(std::move(child), std::move(on_exit), std::move(tree_ready));
  });
  return true;
}

bool Supervisor::running_in_this_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }

bool Supervisor::on_a_supervisor_thread() noexcept { return t_supervisor_thread; }

}  // namespace isolate::detail
