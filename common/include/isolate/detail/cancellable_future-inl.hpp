// cancellable_future-inl.hpp — how run_cancellable, run_delayed and as_cancellable work
// (internal: the templates of cancellable_future.hpp; included at its end).
#pragma once

#include <isolate/cancellable_future.hpp>  // the declarations these define (it includes this file at its end)
#include <isolate/cancellation_token.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/detail/executor.hpp>
#include <isolate/detail/timer_service.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace isolate {

namespace detail {

/// Runs `fn` into `result` unless the result was claimed (cancelled) before the work started.
template <class F, class R>
void run_into(F& fn, const std::stop_token& stop, CancellableResult<R>& result) {
  if (result.is_done()) return;
  try {
    if constexpr (std::is_invocable_v<F&, std::stop_token>) {
      if constexpr (std::is_void_v<R>) {
        std::invoke(fn, stop);
        result.set_value();
      } else {
        result.set_value(std::invoke(fn, stop));
      }
    } else if constexpr (std::is_void_v<R>) {
      std::invoke(fn);
      result.set_value();
    } else {
      result.set_value(std::invoke(fn));
    }
  } catch (...) {
    result.set_exception(std::current_exception());
  }
}

/// The task running fn into `result`; fn's stop_token is the result's (requested once the token
/// has claimed the result, so fn returning on stop never beats the token's exception).
template <class F>
std::function<void()> make_task(F fn, std::shared_ptr<CancellableResult<work_result_t<F>>> result) {
  auto work = std::make_shared<F>(std::move(fn));  // std::function needs a copyable target
  std::stop_token stop;
  if constexpr (std::is_invocable_v<F&, std::stop_token>) stop = result->enable_stop();
  return [work, stop = std::move(stop), result = std::move(result)] { run_into(*work, stop, *result); };
}

}  // namespace detail

template <class F>
auto run_cancellable(F fn, CancellationToken token) -> std::future<detail::work_result_t<F>> {
  using R = detail::work_result_t<F>;
  auto result = detail::CancellableResult<R>::create();
  auto task = detail::make_task(std::move(fn), result);  // before attach(): enables the result's stop
  auto future = result->get_future();
  result->attach(token);
  if (!result->is_done()) detail::Executor::instance().submit(std::move(task));
  return future;
}

template <class F>
auto run_delayed(std::chrono::nanoseconds delay, F fn, CancellationToken token)
    -> std::future<detail::work_result_t<F>> {
  using R = detail::work_result_t<F>;
  // Cancelled during the delay: unschedule, so a long delay does not keep the work alive.
  struct Schedule {
    std::mutex mutex;
    bool cancelled = false;
    detail::TimerService::Handle handle;
  };
  auto schedule = std::make_shared<Schedule>();
  auto result = detail::CancellableResult<R>::create([schedule] {
    detail::TimerService::Handle handle;
    {
      std::lock_guard lock(schedule->mutex);
      schedule->cancelled = true;
      handle = schedule->handle;
    }
    detail::TimerService::instance().cancel(handle);
  });
  auto task = detail::make_task(std::move(fn), result);  // before attach(): enables the result's stop
  auto future = result->get_future();
  result->attach(token);  // before scheduling: an already-cancelled token must never let fn run
  if (result->is_done()) return future;
  std::weak_ptr<detail::CancellableResult<R>> weak = result;
  const auto handle = detail::TimerService::instance().schedule(detail::TimerService::Clock::now() + delay,
                                                                [weak, task = std::move(task)] {
                                                                  if (auto r = weak.lock(); r && !r->is_done())
                                                                    detail::Executor::instance().submit(task);
                                                                });
  std::lock_guard lock(schedule->mutex);
  if (schedule->cancelled) {
    detail::TimerService::instance().cancel(handle);
  } else {
    schedule->handle = handle;
  }
  return future;
}

template <class T>
std::future<T> as_cancellable(std::future<T> f, CancellationToken token) {
  auto result = detail::CancellableResult<T>::create();
  auto future = result->get_future();
  result->attach(token);
  if (result->is_done()) return future;
  auto source = std::make_shared<std::future<T>>(std::move(f));
  auto settle = [source, result] {
    source->wait();
    if (result->is_done()) return;
    try {
      if constexpr (std::is_void_v<T>) {
        source->get();
        result->set_value();
      } else {
        result->set_value(source->get());
      }
    } catch (...) {
      result->set_exception(std::current_exception());
    }
  };
  if (source->wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    settle();
  } else {
    detail::Executor::instance().submit(std::move(settle));
  }
  return future;
}

}  // namespace isolate
