// cancellable_isolate-inl.hpp — how CancellableIsolate::run starts a run on a worker process or
// a thread (internal: the templates of cancellable_isolate.hpp; included at its end).
#pragma once

#include <isolate/cancellable_isolate.hpp>  // the declarations these define (it includes this file at its end)
#include <isolate/cancellation_token.hpp>
#include <isolate/detail/byte_views.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/detail/codec.hpp>
#include <isolate/detail/dispatch_guard.hpp>
#include <isolate/detail/executor.hpp>
#include <isolate/detail/input_fd.hpp>
#include <isolate/detail/input_holder.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/detail/progress_watch.hpp>
#include <isolate/errors.hpp>
#include <isolate/job.hpp>
#include <isolate/run_options.hpp>

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace isolate::detail {

template <class T>
std::future<T> failed_future(std::exception_ptr error, const ResultHooks& hooks = {}) {
  std::promise<T> promise;
  promise.set_exception(std::move(error));
  auto future = promise.get_future();
  run_hook(hooks.on_ready);
  return future;
}

/// The extras of a run with `options`: a watch for its on_progress (moved out), and `hooks`.
/// Throws std::bad_alloc.
inline RunExtras run_extras(RunOptions& options, ResultHooks hooks) {
  return {ProgressWatch::create(std::exchange(options.on_progress, nullptr)), std::move(hooks)};
}

template <class T>
std::size_t payload_size_hint(const T& value) {
  if constexpr (is_byte_buffer_v<T> || is_view_v<T>) {
    return value.size() + 256;
  } else {
    return 4096;
  }
}

/// True when a buffer handed over for an In (view) input can take the output (Out).
template <class In, class Out>
inline constexpr bool recycles_input_v = is_view_v<In>&& std::is_same_v<owned_t<In>, owned_t<Out>>;

/// How a process run delivers its output payload into `result`: decoded into the buffer handed
/// over to `holder` when it can take the output (see decode_output), else into a new one. Keeps
/// `holder` only in the first case.
template <class In, class Out>
std::function<void(std::span<const std::byte>, const ProcessLaunch::Decoded&)> output_delivery(
    std::shared_ptr<CancellableResult<owned_t<Out>>> result, std::shared_ptr<InputHolder<In>> holder) {
  using Result = owned_t<Out>;
  if constexpr (recycles_input_v<In, Out>) {
    return [result = std::move(result), holder = std::move(holder)](std::span<const std::byte> payload,
                                                                    const ProcessLaunch::Decoded& decoded) {
      auto value = holder ? decode_output<Result>(payload, holder->template take_buffer<Result>())
                          : decode_output<Result>(payload);
      decoded();
      result->fulfil_value(std::move(value));
    };
  } else {
    return [result = std::move(result)](std::span<const std::byte> payload, const ProcessLaunch::Decoded& decoded) {
      auto value = decode_output<Result>(payload);
      decoded();
      result->fulfil_value(std::move(value));
    };
  }
}

/// The thread backend: the job's function on an executor thread; the token completes the future
/// at once, then requests stop through the JobContext (CancellableResult::enable_stop).
template <class In, class Out>
std::future<owned_t<Out>> run_on_thread(const Job<In, Out>& job, std::shared_ptr<InputHolder<In>> holder,
                                        const CancellationToken& token, const RunExtras& extras) {
  auto result = extras.make_result<owned_t<Out>>();
  auto stop = result->enable_stop();
  auto future = result->get_future();
  result->attach(token);
  if (result->is_done()) return future;
  ProgressCell* cell = nullptr;
  try {
    holder->own();  // a view's bytes may be gone once run() returns
    cell = watch_own_cell(extras.progress.get());
  } catch (...) {
    result->set_exception(std::current_exception());  // bad_alloc: in the future, like every failure
    return future;
  }
  Executor::instance().submit(
      [fn = job.function(), holder = std::move(holder), result, stop, watch = extras.progress, cell] {
        if (result->is_done()) return;
        try {
          JobContext context(stop, 0, cell);
          result->set_value(to_owned((*fn)(holder->get(), context)));  // a view output may view the input
        } catch (...) {
          result->set_exception(std::current_exception());
        }
      });
  return future;
}

/// Starts `launch` (its request written) under `token`; `holder` (may be null) is kept only to
/// reuse its buffer for the output.
template <class In, class Out>
std::future<owned_t<Out>> start_launch(std::shared_ptr<ProcessLaunch> launch, std::shared_ptr<InputHolder<In>> holder,
                                       const CancellationToken& token, const RunExtras& extras) {
  auto result = extras.make_result<owned_t<Out>>([launch] { launch->cancel(); });
  auto future = result->get_future();
  result->attach(token);
  if (result->is_done()) return future;
  launch->start({
      [result] { return result->claim(); },
      output_delivery<In, Out>(result, std::move(holder)),
      [result](std::exception_ptr error) { result->fulfil_exception(std::move(error)); },
  });
  return future;
}

/// CancellableIsolate::run with its input in `holder`, on the thread backend if `on_thread`.
template <class In, class Out>
std::future<owned_t<Out>> run_isolated(const Job<In, Out>& job, std::shared_ptr<InputHolder<In>> holder,
                                       const CancellationToken& token, RunOptions&& options, bool on_thread,
                                       ResultHooks hooks) {
  using Result = owned_t<Out>;
  if (auto e = undispatched_worker_error()) return failed_future<Result>(e, hooks);
  if (!on_thread && token.is_cancelled()) return failed_future<Result>(token.exception(), hooks);
  RunExtras extras;
  std::shared_ptr<ProcessLaunch> launch;
  try {
    extras = run_extras(options, std::move(hooks));
    if (on_thread) return run_on_thread(job, std::move(holder), token, extras);
    const auto& input = holder->get();
    launch = ProcessLaunch::create({.job = job.name(),
                                    .input_tag = Codec<In>::tag,
                                    .size_hint = payload_size_hint(input),
                                    .write_input = [&input](ByteWriter& writer) { Codec<In>::encode(input, writer); },
                                    .progress = extras.progress},
                                   std::move(options));
  } catch (...) {
    return failed_future<Result>(std::current_exception(), extras.hooks);
  }
  return start_launch<In, Out>(std::move(launch), std::move(holder), token, extras);
}

/// The thread backend with a FileInput: the job's thread reads the input, then runs the job.
template <class In, class Out>
std::future<owned_t<Out>> run_file_on_thread(const Job<In, Out>& job, FileInput input, const CancellationToken& token,
                                             const RunExtras& extras) {
  auto result = extras.make_result<owned_t<Out>>();
  auto stop = result->enable_stop();
  auto future = result->get_future();
  result->attach(token);
  if (result->is_done()) return future;
  try {
    auto fd = std::make_shared<InputFd>(input.fd);  // the caller may close its fd once run() returns
    ProgressCell* cell = watch_own_cell(extras.progress.get());
    Executor::instance().submit(
        [fn = job.function(), fd, max = input.max_bytes, result, stop, watch = extras.progress, cell] {
          if (result->is_done()) return;
          try {
            auto bytes = fd->read_all(max, stop);
            if (result->is_done()) return;
            auto buffer = [&bytes] {
              if constexpr (std::is_same_v<owned_t<In>, std::string>) {
                return std::move(bytes);
              } else {
                return owned_t<In>(bytes.begin(), bytes.end());
              }
            }();
            JobContext context(stop, 0, cell);
            if constexpr (is_view_v<In>) {
              result->set_value(to_owned((*fn)(In(buffer), context)));  // a view output may view the input
            } else {
              result->set_value(to_owned((*fn)(buffer, context)));
            }
          } catch (...) {
            result->set_exception(std::current_exception());
          }
        });
  } catch (...) {
    result->set_exception(std::current_exception());
  }
  return future;
}

/// CancellableIsolate::run with a FileInput: resolves the backend; the worker reads the file.
template <class In, class Out>
std::future<typename Job<In, Out>::Result> start_file_run(const Job<In, Out>& job, FileInput input,
                                                          const CancellationToken& token, RunOptions options,
                                                          ResultHooks hooks) {
  using Result = owned_t<Out>;
  const bool on_thread = runs_on_threads(options.backend, options.limits, options.sandbox);  // may throw
  if (auto e = undispatched_worker_error()) return failed_future<Result>(e, hooks);
  if (!on_thread && token.is_cancelled()) return failed_future<Result>(token.exception(), hooks);
  RunExtras extras;
  std::shared_ptr<ProcessLaunch> launch;
  try {
    extras = run_extras(options, std::move(hooks));
    if (on_thread) return run_file_on_thread(job, input, token, extras);
    launch = ProcessLaunch::create(
        {.job = job.name(), .input_tag = Codec<In>::tag, .input_file = input, .progress = extras.progress},
        std::move(options));
  } catch (...) {
    return failed_future<Result>(std::current_exception(), extras.hooks);
  }
  return start_launch<In, Out>(std::move(launch), nullptr, token, extras);
}

/// CancellableIsolate::run: resolves the backend, holds the input, runs.
template <class In, class Out, class Input>
std::future<typename Job<In, Out>::Result> start_run(const Job<In, Out>& job, Input&& input,
                                                     const CancellationToken& token, RunOptions options,
                                                     ResultHooks hooks) {
  // May throw: nothing moved yet.
  const bool on_thread = runs_on_threads(options.backend, options.limits, options.sandbox);
  std::shared_ptr<InputHolder<In>> holder;
  try {
    holder = std::make_shared<InputHolder<In>>(std::forward<Input>(input));
  } catch (const std::bad_alloc&) {
    return failed_future<typename Job<In, Out>::Result>(std::current_exception(), hooks);
  }
  return run_isolated(job, std::move(holder), token, std::move(options), on_thread, std::move(hooks));
}

}  // namespace isolate::detail
