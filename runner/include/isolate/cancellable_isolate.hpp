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
#include <isolate/detail/byte_views.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/file_input.hpp>
#include <isolate/job.hpp>
#include <isolate/run_options.hpp>

#include <future>
#include <type_traits>
#include <utility>

namespace isolate {

namespace detail {
/// CancellableIsolate::run's work (cancellable_isolate-inl.hpp).
template <class In, class Out, class Input>
std::future<typename Job<In, Out>::Result> start_run(const Job<In, Out>& job, Input&& input,
                                                     const CancellationToken& token, RunOptions options,
                                                     ResultHooks hooks = {});
template <class In, class Out>
std::future<typename Job<In, Out>::Result> start_file_run(const Job<In, Out>& job, FileInput input,
                                                          const CancellationToken& token, RunOptions options,
                                                          ResultHooks hooks = {});
}  // namespace detail

/// Runs jobs in worker processes. See run().
class CancellableIsolate {
 public:
  /// Starts a worker, hands it `job` and `input` over shared memory, and returns at once.
  ///
  /// The future holds the job's output, or:
  /// - the token's exact exception: cancelling kills the worker (SIGKILL), and it and every
  ///   process it started are gone before the future becomes ready; cancelled before run: no
  ///   worker is started;
  /// - the job's exception rebuilt as its own type (std:: exception types, isolate's, and any
  ///   registered with ExceptionType), else JobError (type name, message);
  /// - WorkerCrashed: the worker died without a result (signal or exit code);
  /// - IsolateError: the worker could not be started, did not attach within
  ///   options.start_timeout (main() lacks run_worker_if_requested? wrong binary?), or sent back
  ///   data that does not decode;
  /// - the exception of options.on_progress, if it threw: the run ends as if cancelled.
  /// Once the future is ready, no process of this run remains. The token is held (a temporary
  /// TimeoutCancellationToken still fires) and its registration is dropped before the future is
  /// ready. On Backend::thread the job runs on a library thread instead: cancelling completes the
  /// future at once and sets JobContext::stop_requested(), and the job's own exception object
  /// propagates unchanged.
  /// Does not block (the spawn happens on the library's supervisor thread).
  /// Throws only IsolateError for Backend::process where it is not built; every other failure is
  /// in the future. Thread safety: may be called from any thread, concurrently.
  /// For a job with a view output (see Job), the future holds its owned buffer (Job::Result).
  template <class In, class Out>
  [[nodiscard]] static std::future<typename Job<In, Out>::Result> run(const Job<In, Out>& job,
                                                                      std::type_identity_t<In> input,
                                                                      CancellationToken token = {},
                                                                      RunOptions options = {}) {
    return detail::start_run(job, std::move(input), token, std::move(options));
  }

  /// run() for a job with a view input, handing over the viewed buffer itself: the buffer is
  /// always consumed (moved from), unless run() throws. On the process backend it is kept until
  /// the output arrives, and when the output is of the same type and fills at least half of the
  /// buffer's capacity, it is decoded into the buffer (no fresh pages to fault in).
  template <class In, class Out, class Buffer>
  requires(detail::is_view_v<In>&& std::is_same_v<Buffer, detail::owned_t<In>>)
      [[nodiscard]] static std::future<typename Job<In, Out>::Result> run(const Job<In, Out>& job, Buffer&& input,
                                                                          CancellationToken token = {},
                                                                          RunOptions options = {}) {
    return detail::start_run(job, std::forward<Buffer>(input), token, std::move(options));
  }

  /// run() for a job that takes bytes (a view or an owned buffer), with its input read from a
  /// file by the worker itself (see FileInput): no byte of it passes through this process. The
  /// future also holds InputError when the input cannot be read or is larger than
  /// input.max_bytes.
  template <class In, class Out>
  requires(detail::is_view_v<In> || detail::is_byte_buffer_v<In>)
      [[nodiscard]] static std::future<typename Job<In, Out>::Result> run(const Job<In, Out>& job, FileInput input,
                                                                          CancellationToken token = {},
                                                                          RunOptions options = {}) {
    return detail::start_file_run(job, input, token, std::move(options));
  }
};

}  // namespace isolate

#include <isolate/detail/cancellable_isolate-inl.hpp>
