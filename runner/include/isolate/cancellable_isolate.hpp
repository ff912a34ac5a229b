// cancellable_isolate.hpp — CancellableIsolate::run: a job in a worker process that dies the
// instant its token fires.
//
//   isolate::Job<std::string, nlohmann::json> parse("parse", [](const std::string& text) {
//     return nlohmann::json::parse(text);
//   });
//   int main(int argc, char** argv) {
//     if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
//     isolate::TimeoutCancellationToken timeout(std::chrono::seconds(2));
//     auto doc = isolate::CancellableIsolate::run(parse, read_file("big.json"), timeout).get();
//   }
#pragma once

#include <isolate/cancellation_token.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/detail/codec.hpp>
#include <isolate/detail/executor.hpp>
#include <isolate/detail/input_holder.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/detail/wire_format.hpp>
#include <isolate/errors.hpp>
#include <isolate/job.hpp>
#include <isolate/run_options.hpp>

#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace isolate {

namespace detail {

template <class T>
std::future<T> failed_future(std::exception_ptr error) {
  std::promise<T> promise;
  promise.set_exception(std::move(error));
  return promise.get_future();
}

inline bool use_thread_backend(Backend backend) {
  switch (backend) {
    case Backend::thread:
      return true;
    case Backend::process:
      if (!process_backend_available()) throw IsolateError("isolate: Backend::process is not built on this platform");
      return false;
    case Backend::automatic:
      break;
  }
  return !process_backend_available();
}

template <class T>
std::size_t payload_size_hint(const T& value) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::uint8_t>> || is_view_v<T>) {
    return value.size() + 256;
  } else {
    return 4096;
  }
}

/// The thread backend: the job's function on an executor thread; the token completes the future
/// at once, then requests stop through the JobContext (CancellableResult::enable_stop).
template <class In, class Out>
std::future<Out> run_on_thread(const Job<In, Out>& job, In input, const CancellationToken& token) {
  auto result = CancellableResult<Out>::create();
  auto stop = result->enable_stop();
  auto future = result->get_future();
  result->attach(token);
  if (result->is_done()) return future;
  std::shared_ptr<InputHolder<In>> holder;
  try {
    holder = std::make_shared<InputHolder<In>>(std::move(input));
    holder->own();  // a view's bytes may be gone once run() returns
  } catch (...) {
    result->set_exception(std::current_exception());  // bad_alloc: in the future, like every failure
    return future;
  }
  Executor::instance().submit([fn = job.function(), holder = std::move(holder), result, stop] {
    if (result->is_done()) return;
    try {
      JobContext context(stop);
      result->set_value((*fn)(holder->get(), context));
    } catch (...) {
      result->set_exception(std::current_exception());
    }
  });
  return future;
}

}  // namespace detail

/// Runs jobs in worker processes. See run().
class CancellableIsolate {
 public:
  /// Starts a worker, hands it `job` and `input` over shared memory, and returns at once.
  ///
  /// The future holds the job's output, or:
  /// - the token's exact exception: cancelling kills the worker (SIGKILL) and reaps it before the
  ///   future becomes ready; cancelled before run: no worker is started;
  /// - the job's exception rebuilt as its own type (std:: exception types, isolate's, and any
  ///   registered with ExceptionType), else JobError (type name, message);
  /// - WorkerCrashed: the worker died without a result (signal or exit code);
  /// - IsolateError: the worker could not be started, did not attach within
  ///   options.start_timeout (main() lacks run_worker_if_requested? wrong binary?), or sent back
  ///   data that does not decode.
  /// Once the future is ready, no process of this run remains. The token is held (a temporary
  /// TimeoutCancellationToken still fires) and its registration is dropped before the future is
  /// ready. On Backend::thread the job runs on a library thread instead: cancelling completes the
  /// future at once and sets JobContext::stop_requested(), and the job's own exception object
  /// propagates unchanged.
  /// Does not block (the spawn happens on the library's supervisor thread).
  /// Throws only IsolateError for Backend::process where it is not built; every other failure is
  /// in the future. Thread safety: may be called from any thread, concurrently.
  template <class In, class Out>
  static std::future<Out> run(const Job<In, Out>& job, std::type_identity_t<In> input,
                              CancellationToken token = {}, RunOptions options = {}) {
    if (detail::use_thread_backend(options.backend)) return detail::run_on_thread(job, std::move(input), token);
    if (auto e = token.exception()) return detail::failed_future<Out>(e);
    std::shared_ptr<detail::ProcessLaunch> launch;
    try {
      auto segment = detail::make_request_segment(detail::payload_size_hint(input));
      detail::ByteWriter writer(segment);
      writer.write_string(job.name());
      writer.write_string(detail::Codec<In>::tag);
      detail::write_payload<In>(input, writer);
      detail::publish(segment, writer, detail::SegmentState::requested);
      launch = detail::ProcessLaunch::create(std::move(segment), std::move(options));
    } catch (...) {
      return detail::failed_future<Out>(std::current_exception());
    }
    auto result = detail::CancellableResult<Out>::create([launch] { launch->cancel(); });
    auto future = result->get_future();
    result->attach(token);
    if (result->is_done()) return future;
    launch->start({
        [result] { return result->claim(); },
        [result](std::span<const std::byte> payload) { result->fulfil_value(detail::Codec<Out>::decode(payload)); },
        [result](std::exception_ptr error) { result->fulfil_exception(std::move(error)); },
    });
    return future;
  }
};

}  // namespace isolate
