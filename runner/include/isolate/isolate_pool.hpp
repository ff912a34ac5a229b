// isolate_pool.hpp — IsolatePool: warm workers with CancellableIsolate::run's contract.
//
//   isolate::IsolatePool pool({.workers = 4});
//   auto f = pool.run(parse, text, token);   // no process start on the critical path
#pragma once

#include <isolate/cancellable_isolate.hpp>
#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/detail/input_holder.hpp>
#include <isolate/detail/pool_core.hpp>

#include <future>
#include <memory>
#include <type_traits>

namespace isolate {

namespace detail {
struct PoolAccess;  // async_run's way in (asio.hpp)
}  // namespace detail

/// A pool of warm workers. Workers start once (in the constructor, in the background) and are
/// reused: a job goes to an idle worker over its shared-memory channel; jobs beyond the free
/// workers wait in a FIFO queue, and a queued job whose token fires leaves the queue without
/// touching a worker. Cancelling a running job kills only its worker, which is replaced in the
/// background; so is a worker that crashes. The future of run() follows
/// CancellableIsolate::run's contract (outputs, the token's exact exception, JobError,
/// WorkerCrashed, IsolateError), except that a pool worker lives on between jobs.
/// With Backend::thread (or automatic where processes are unsupported) the workers are threads
/// of this process, with the thread backend's semantics.
/// Thread safety: run() and size() may be called from any thread, concurrently.
class IsolatePool {
 public:
  /// Starts the workers (asynchronously). Throws IsolateError for Backend::process where it is
  /// not built, or when the pool cannot start (no fd or thread left: the message says which).
  explicit IsolatePool(const PoolOptions& options = {}) : core_(detail::make_pool_core(options)) {}
  /// Kills and reaps every worker; running and queued futures complete with
  /// CancelledException("pool destroyed"). A thread pool requests stop and joins its threads.
  ~IsolatePool() { core_->shutdown(); }
  IsolatePool(const IsolatePool&) = delete;
  IsolatePool& operator=(const IsolatePool&) = delete;

  /// Runs `job` on a pool worker; returns at once. See the class comment. For a job with a view
  /// output (see Job), the future holds its owned buffer (Job::Result).
  template <class In, class Out>
  [[nodiscard]] std::future<typename Job<In, Out>::Result> run(const Job<In, Out>& job, std::type_identity_t<In> input,
                                                               CancellationToken token = {}) {
    return submit(job, std::move(input), std::move(token));
  }

  /// run() with the job's progress reports delivered to `on_progress`, as RunOptions::on_progress
  /// describes (a report is read only while the job runs on a worker, not while it is queued).
  template <class In, class Out>
  [[nodiscard]] std::future<typename Job<In, Out>::Result> run(const Job<In, Out>& job, std::type_identity_t<In> input,
                                                               CancellationToken token, ProgressCallback on_progress) {
    std::shared_ptr<detail::ProgressWatch> watch;
    try {
      watch = detail::ProgressWatch::create(std::move(on_progress));
    } catch (const std::bad_alloc&) {
      return detail::failed_future<typename Job<In, Out>::Result>(std::current_exception());
    }
    return submit(job, std::move(input), std::move(token), {.progress = std::move(watch)});
  }

  /// run() for a job with a view input, handing over the viewed buffer itself: the buffer is
  /// always consumed (moved from). The pool keeps it (a queued job needs no copy of it) until the
  /// output arrives; on the process backend, when the output is of the same type and fills at
  /// least half of the buffer's capacity, it is decoded into the buffer (no fresh pages to fault
  /// in).
  template <class In, class Out, class Buffer>
  requires(detail::is_view_v<In>&& std::is_same_v<Buffer, detail::owned_t<In>>)
      [[nodiscard]] std::future<typename Job<In, Out>::Result> run(const Job<In, Out>& job, Buffer&& input,
                                                                   CancellationToken token = {}) {
    return submit(job, std::forward<Buffer>(input), std::move(token));
  }

  /// The number of workers.
  [[nodiscard]] std::size_t size() const noexcept { return core_->size(); }

 private:
  friend struct detail::PoolAccess;

  template <class In, class Out, class Input>
  std::future<typename Job<In, Out>::Result> submit(const Job<In, Out>& job, Input&& input, CancellationToken token,
                                                    detail::RunExtras extras = {}) {
    using Result = typename Job<In, Out>::Result;
    std::shared_ptr<detail::InputHolder<In>> holder;
    try {
      holder = std::make_shared<detail::InputHolder<In>>(std::forward<Input>(input));
    } catch (const std::bad_alloc&) {
      return detail::failed_future<Result>(std::current_exception(), extras.hooks);
    }
    if (auto e = detail::undispatched_worker_error()) return detail::failed_future<Result>(e, extras.hooks);
    if (auto e = token.exception()) return detail::failed_future<Result>(e, extras.hooks);
    auto task = std::make_shared<detail::PoolTask>();
    std::weak_ptr<detail::PoolCore> core = core_;
    std::weak_ptr<detail::PoolTask> weak_task = task;
    auto result = extras.make_result<Result>([core, weak_task] {
      auto c = core.lock();
      auto t = weak_task.lock();
      if (c && t) c->cancel(t);
    });
    auto future = result->get_future();
    task->progress = std::move(extras.progress);
    task->job = job.name();
    task->tag = detail::Codec<In>::tag;
    task->own_input = [holder] { holder->own(); };
    task->encode = [holder](detail::ByteWriter& writer) { detail::Codec<In>::encode(holder->get(), writer); };
    task->run_here = [fn = job.function(), holder, result](JobContext& context) {
      if (result->is_done()) return;
      try {
        result->set_value(detail::to_owned((*fn)(holder->get(), context)));  // a view output may view the input
      } catch (...) {
        result->set_exception(std::current_exception());
      }
    };
    // The process backend drops encode, own_input and run_here once the input is in a worker's
    // channel; the delivery keeps the holder only if its buffer can take the output.
    auto deliver = detail::output_delivery<In, Out>(result, holder);
    task->completion = {
        [result] { return result->claim(); },
        std::move(deliver),
        [result](std::exception_ptr error) { result->fulfil_exception(std::move(error)); },
    };
    result->attach(token);
    if (result->is_done()) return future;
    core_->submit(std::move(task));
    return future;
  }

  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace isolate
