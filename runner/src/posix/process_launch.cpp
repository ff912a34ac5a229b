// process_launch.cpp — spawn a worker for one request, watch it, settle the run's future.
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/executor.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/detail/timer_service.hpp>
#include <isolate/errors.hpp>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "child_process.hpp"
#include "per_process.hpp"
#include "posix/fd.hpp"
#include "protocol/channel.hpp"
#include "response.hpp"
#include "runner_error.hpp"
#include "supervisor.hpp"
#include "worker_start.hpp"

namespace isolate::detail {
namespace {

/// The caller's input fd duplicated (close-on-exec, so no other child inherits it): the run's own
/// until its worker holds it. Throws InputError.
int duplicate_input_fd(int fd) {
  const int copy = fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    throw InputError("isolate: cannot use fd " + std::to_string(fd) +
                     " as a run's input: " + std::strerror(fd < 0 ? EBADF : errno));
  }
  return copy;
}

}  // namespace

struct ProcessLaunch::Impl : std::enable_shared_from_this<ProcessLaunch::Impl> {
  Impl(Channel request, RunOptions opts, int input)
      : channel(std::move(request)), options(std::move(opts)), input_fd(input) {
    options.worker_executable = worker_executable(options.worker_executable);
  }
  ~Impl() { close_fd(input_fd); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  enum class Phase { created, queued, spawning, running, exited };

  Channel channel;
  RunOptions options;
  const std::uint64_t generation = fork_generation();  // a fork() child holds a copy: never ours
  std::mutex mutex;
  std::condition_variable spawn_done;
  Phase phase = Phase::created;
  bool cancelled = false;
  bool start_timed_out = false;
  int input_fd = -1;  // the input file's fd until the worker is spawned
  std::shared_ptr<ChildProcess> child;
  Completion completion;
  TimerService::Handle start_timer;

  void spawn() {
    {
      std::lock_guard lock(mutex);
      if (cancelled) {
        completion = {};
        return;
      }
      phase = Phase::spawning;
    }
    std::shared_ptr<ChildProcess> started;
    std::exception_ptr error;
    // The worker writes it once it serves: the supervisor then finds its process tree, so that a
    // cancel kills it with no /proc reads on its path. Without one, the cancel finds the tree.
    UniqueFd tree_ready(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    try {
      started = std::make_shared<ChildProcess>(spawn_worker(options.worker_executable, channel.fd(), std::nullopt,
                                                            options.worker_output, options.limits, options.sandbox,
                                                            input_fd, tree_ready.get()));
    } catch (...) {
      error = current_exception_as_isolate_error("cannot start a worker");
    }
    close_fd(std::exchange(input_fd, -1));  // the worker has its own (or there is none)
    {
      std::lock_guard lock(mutex);
      phase = started ? Phase::running : Phase::exited;
      child = started;
    }
    spawn_done.notify_all();  // a cancel() waiting for the spawn now kills the child
    if (error) {
      settle_with(error);
      return;
    }
    channel.allow_attach();  // we hold its pidfd: the worker may attach (and end)
    try {
      watch(started, std::move(tree_ready));
    } catch (...) {
      // No timer thread or no memory: never a run without its start timeout or its watch.
      started->kill();
      (void)started->wait();
      settle_with(current_exception_as_isolate_error("cannot watch a worker"));
    }
  }

  /// Arms the start timeout and has the supervisor watch the worker (and `tree_ready`). Throws
  /// std::system_error (no timer thread) or std::bad_alloc.
  void watch(const std::shared_ptr<ChildProcess>& started, UniqueFd tree_ready) {
    std::weak_ptr<Impl> weak = weak_from_this();
    auto timer = TimerService::instance().schedule(TimerService::Clock::now() + options.start_timeout, [weak] {
      if (auto self = weak.lock()) self->on_start_timeout();
    });
    {
      std::lock_guard lock(mutex);
      start_timer = timer;
    }
    if (!Supervisor::instance().watch(
            started, [self = shared_from_this()](ExitStatus status) { self->on_exit(status); },
            std::move(tree_ready))) {
      started->kill();
      on_exit(started->wait());
    }
  }

  void on_start_timeout() {
    std::lock_guard lock(mutex);
    if (phase != Phase::running || channel.state() != ChannelState::requested) return;
    start_timed_out = true;
    child->kill();
  }

  /// The completion, if this thread may complete the run (it claimed the result).
  std::optional<Completion> take_claimed_completion() {
    Completion taken;
    {
      std::lock_guard lock(mutex);
      phase = Phase::exited;
      taken = std::move(completion);
    }
    if (!taken.claim || !taken.claim()) return std::nullopt;
    return taken;
  }

  void settle_with(std::exception_ptr error) {
    if (auto c = take_claimed_completion()) c->fail(std::move(error));
  }

  void on_exit(ExitStatus status) {
    TimerService::Handle timer;
    {
      std::lock_guard lock(mutex);
      timer = std::exchange(start_timer, {});
    }
    TimerService::instance().cancel(timer);
    auto c = take_claimed_completion();
    if (!c) return;  // the token won: cancel() has killed the worker and its tree
    auto settle_now = [self = shared_from_this(), c = std::move(*c), status]() mutable {
      try {
        self->settle(c, status);
      } catch (...) {
        c.fail(current_exception_as_isolate_error("cannot read a worker's response"));
      }
    };
    // Decoding a large response takes time: keep the supervisor thread free for other workers.
    // With no executor thread to be had, settle here rather than never.
    try {
      Executor::instance().submit(settle_now);  // a copy: if it cannot start, settle_now is intact
    } catch (...) {
      settle_now();
    }
  }

  void settle(Completion& c, const ExitStatus& status) {
    const auto state = channel.state();
    if (state == ChannelState::responded) {
      complete_from_response(
          channel, c, [] {}, options.limits);
      return;
    }
    if (state == ChannelState::attached) {
      c.fail(worker_ended_error(status, options.limits, options.sandbox));
      return;
    }
    bool timed_out;
    {
      std::lock_guard lock(mutex);
      timed_out = start_timed_out;
    }
    c.fail(start_failure_error(options.worker_executable, status, timed_out, options.start_timeout));
  }

  void cancel() noexcept {
    // In a child of fork(): this run (its worker, its supervisor thread, its mutex) belongs to
    // the parent. The token has completed the future; nothing here is ours to kill or wait for.
    if (generation != fork_generation()) return;
    std::shared_ptr<ChildProcess> target;
    {
      std::unique_lock lock(mutex);
      cancelled = true;
      spawn_done.wait(lock, [&] { return phase != Phase::spawning; });
      target = child;
    }
    // The token's exception completes the future once this returns: every process of the run
    // is gone by then (the relay, which runs nothing of the job, is reaped by the watch).
    if (target) target->kill_tree_and_wait();
  }
};

ProcessLaunch::ProcessLaunch(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

ProcessLaunch::~ProcessLaunch() = default;

std::shared_ptr<ProcessLaunch> ProcessLaunch::create(const JobRequest& request, RunOptions options) {
  resolve_readable_paths(options.sandbox);
  options.on_progress = nullptr;  // request.progress delivers it
  auto channel = Channel::create(request.size_hint);
  int input_fd = -1;
  if (request.input_file) {
    channel.write_request(request.job, request.input_tag,
                          InputFileSource{kWorkerInputFd, request.input_file->max_bytes});
    input_fd = duplicate_input_fd(request.input_file->fd);
  } else {
    channel.write_request(request.job, request.input_tag, request.write_input);
  }
  std::shared_ptr<ProcessLaunch> launch;
  try {
    launch.reset(new ProcessLaunch(std::make_shared<Impl>(std::move(channel), std::move(options), input_fd)));
  } catch (...) {
    close_fd(input_fd);
    throw;
  }
  // Last: nothing after it may fail, or the watch would poll a channel that is gone. The cell is
  // in the header, whose address holds until the response is read, after the result is claimed
  // (and so the watch closed).
  if (request.progress) request.progress->watch(&launch->impl_->channel.progress());
  return launch;
}

void ProcessLaunch::start(Completion completion) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->cancelled) return;
    impl_->completion = std::move(completion);
    impl_->phase = Impl::Phase::queued;
  }
  try {
    // The supervisor's callbacks use the timer service and the executor, also while it shuts
    // down at exit: construct them first, so that they are destroyed after it.
    (void)TimerService::instance();
    (void)Executor::instance();
    if (!Supervisor::instance().post([impl = impl_] { impl->spawn(); })) {
      impl_->settle_with(std::make_exception_ptr(IsolateError("isolate: the program is shutting down")));
    }
  } catch (...) {
    // E.g. "epoll: Too many open files" when the supervisor starts with no fd left.
    impl_->settle_with(current_exception_as_isolate_error("cannot start the supervisor thread"));
  }
}

void ProcessLaunch::cancel() noexcept { impl_->cancel(); }

bool process_backend_available() noexcept { return true; }

}  // namespace isolate::detail
