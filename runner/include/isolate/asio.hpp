// asio.hpp — async_run: CancellableIsolate::run and IsolatePool::run as Boost.Asio asynchronous
// operations (not part of <isolate/isolate.hpp>: only programs that use Asio pay for it).
//
//   boost::asio::awaitable<void> handle(isolate::IsolatePool& pool, std::string body) {
//     using namespace boost::asio::experimental::awaitable_operators;
//     boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 2s);
//     auto first = co_await (isolate::async_run(pool, parse, std::move(body), boost::asio::use_awaitable) ||
//                            timer.async_wait(boost::asio::use_awaitable));
//     // the timer won: the parse's worker is already killed and reaped
//   }
//
// Completion signature: void(std::exception_ptr, R), R = Job<In, Out>::Result (default-
// constructed when the exception is set, so R must be default-constructible). Any completion
// token works: a callback, use_future, use_awaitable, deferred, and their adapters.
// - The handler runs on its associated executor (for use_awaitable the coroutine's; without one,
//   the system executor), never inside async_run. The operation keeps that executor's work
//   count up while it runs: io_context::run() does not return before it completes.
// - No thread waits per operation: the library completes the run's result on its own threads,
//   then posts the handler.
// - Cancellation through the handler's cancellation slot (any type: terminal, partial, total;
//   e.g. bind_cancellation_slot, or awaitable_operators' || losing) does what a token cancel does
//   — the worker is killed and reaped, on the thread that emits the cancellation, before it
//   returns — and completes with boost::system::system_error(boost::asio::error::
//   operation_aborted). A cancelled `token` completes with the token's exact exception, as
//   everywhere. Emitting the cancellation after the operation completed does nothing.
// - Asio's awaitable_operators::operator|| waits for the first operation to *succeed*: a job
//   that throws lets the other side go on (a timer runs out; a socket wait goes on waiting).
//   To race a job that may fail, co_await it in a coroutine of your own that turns its
//   exception into a value (examples/offload_server.cpp does).
// - A handler that throws: the exception leaves the executor's run() (Asio's rule for every
//   handler); the run is over by then, and the library and the pool go on unaffected.
// - With `deferred` the run starts when the deferred operation is initiated; a view input
//   (std::string_view, std::span) must stay valid until then, and so must `job` (jobs live at
//   namespace scope) and, for a pool, the pool.
// Thread safety: as CancellableIsolate::run and IsolatePool::run. The cancellation slot follows
// Asio's rules: emit on the handler's executor.
#pragma once

#include <isolate/isolate.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace isolate {

namespace detail {

/// async_run's way into IsolatePool's submit (which takes hooks).
struct PoolAccess {
  template <class In, class Out, class Input>
  static std::future<typename Job<In, Out>::Result> submit(IsolatePool& pool, const Job<In, Out>& job, Input&& input,
                                                           CancellationToken token, ResultHooks hooks) {
    return pool.submit(job, std::forward<Input>(input), std::move(token), RunExtras{.hooks = std::move(hooks)});
  }
};

/// One async_run in flight: the handler and its executor's work, and the run's future. Once the
/// future is ready and the initiation has handed it over (in either order), the handler is
/// posted to its executor with the result.
template <class Result, class Handler>
class AsyncRun : public std::enable_shared_from_this<AsyncRun<Result, Handler>> {
 public:
  explicit AsyncRun(Handler handler)
      : handler_(std::move(handler)),
        work_(boost::asio::make_work_guard(boost::asio::get_associated_executor(handler_))) {}

  /// The run's hooks: the result's readiness completes this operation.
  ResultHooks hooks() {
    return {.on_ready = [self = this->shared_from_this()] {
      self->ready_.store(true);
      self->complete_if_due();
    }};
  }

  /// A token that also fires when the handler's slot emits a cancellation, with operation_aborted.
  CancellationToken with_slot_cancellation(CancellationToken token) {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (!slot.is_connected()) return token;
    CancellationToken aborted;
    slot.assign([aborted](boost::asio::cancellation_type type) mutable {
      if (type == boost::asio::cancellation_type::none) return;
      try {
        aborted.cancel(std::make_exception_ptr(boost::system::system_error(boost::asio::error::operation_aborted)));
      } catch (...) {  // an emitter is no place for an exception; the run completes all the same
      }
    });
    return token.merge({std::move(aborted)});
  }

  /// The initiation is done: here is the run's future.
  void started(std::future<Result> future) {
    future_ = std::move(future);
    started_.store(true);
    if (future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) ready_.store(true);
    complete_if_due();
  }

 private:
  void complete_if_due() {
    if (!started_.load() || !ready_.load() || posted_.exchange(true)) return;
    auto executor = work_.get_executor();
    boost::asio::post(executor, [self = this->shared_from_this()]() mutable { deliver(std::move(self)); });
    work_.reset();  // the posted function holds the executor's work now
  }

  static void deliver(std::shared_ptr<AsyncRun> self) {
    boost::asio::get_associated_cancellation_slot(self->handler_).clear();
    std::exception_ptr error;
    std::optional<Result> value;
    try {
      value.emplace(self->future_.get());
    } catch (...) {
      error = std::current_exception();
    }
    auto handler = std::move(self->handler_);
    self.reset();  // this reference goes before the upcall (the run's hook may hold another)
    if (error) {
      std::move(handler)(std::move(error), Result{});
    } else {
      std::move(handler)(std::exception_ptr(), std::move(*value));
    }
  }

  Handler handler_;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work_;
  std::future<Result> future_;
  std::atomic<bool> started_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> posted_{false};
};

/// Starts an AsyncRun for `handler`: `start(token, hooks)` runs the job and returns its future.
template <class Result, class Handler, class Start>
void initiate_async_run(Handler&& handler, CancellationToken token, Start&& start) {
  auto op = std::make_shared<AsyncRun<Result, std::decay_t<Handler>>>(std::forward<Handler>(handler));
  token = op->with_slot_cancellation(std::move(token));
  std::future<Result> future;
  try {
    future = std::forward<Start>(start)(token, op->hooks());
  } catch (...) {  // run() throws only for a backend that is not built: completes the same way
    future = failed_future<Result>(std::current_exception());
  }
  op->started(std::move(future));
}

}  // namespace detail

/// CancellableIsolate::run(job, input, token, options) as an asynchronous operation. See the
/// file comment.
template <class In, class Out, class CompletionToken>
auto async_run(const Job<In, Out>& job, std::type_identity_t<In> input, CancellationToken token, RunOptions options,
               CompletionToken&& completion) {
  using Result = typename Job<In, Out>::Result;
  return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, Result)>(
      [](auto handler, const Job<In, Out>* j, In in, CancellationToken t, RunOptions o) {
        detail::initiate_async_run<Result>(
            std::move(handler), std::move(t), [&](const CancellationToken& merged, detail::ResultHooks hooks) {
              return detail::start_run(*j, std::move(in), merged, std::move(o), std::move(hooks));
            });
      },
      completion, &job, std::move(input), std::move(token), std::move(options));
}

/// async_run with the default options.
template <class In, class Out, class CompletionToken>
auto async_run(const Job<In, Out>& job, std::type_identity_t<In> input, CancellationToken token,
               CompletionToken&& completion) {
  return async_run(job, std::move(input), std::move(token), RunOptions{}, std::forward<CompletionToken>(completion));
}

/// async_run with no token and the default options.
template <class In, class Out, class CompletionToken>
auto async_run(const Job<In, Out>& job, std::type_identity_t<In> input, CompletionToken&& completion) {
  return async_run(job, std::move(input), CancellationToken{}, RunOptions{}, std::forward<CompletionToken>(completion));
}

/// IsolatePool::run(job, input, token) as an asynchronous operation. See the file comment. The
/// pool must outlive the operation's initiation; destroying it completes the operation with
/// CancelledException("pool destroyed").
template <class In, class Out, class CompletionToken>
auto async_run(IsolatePool& pool, const Job<In, Out>& job, std::type_identity_t<In> input, CancellationToken token,
               CompletionToken&& completion) {
  using Result = typename Job<In, Out>::Result;
  return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, Result)>(
      [&pool](auto handler, const Job<In, Out>* j, In in, CancellationToken t) {
        detail::initiate_async_run<Result>(
            std::move(handler), std::move(t), [&](const CancellationToken& merged, detail::ResultHooks hooks) {
              return detail::PoolAccess::submit(pool, *j, std::move(in), merged, std::move(hooks));
            });
      },
      completion, &job, std::move(input), std::move(token));
}

/// async_run on a pool with no token.
template <class In, class Out, class CompletionToken>
auto async_run(IsolatePool& pool, const Job<In, Out>& job, std::type_identity_t<In> input,
               CompletionToken&& completion) {
  return async_run(pool, job, std::move(input), CancellationToken{}, std::forward<CompletionToken>(completion));
}

}  // namespace isolate
