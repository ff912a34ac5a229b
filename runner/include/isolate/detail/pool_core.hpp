// pool_core.hpp — the type-erased engine behind IsolatePool (internal; reachable because
// IsolatePool::run, a template, hands its jobs to it).
//
// IsolatePool::run (a template) wraps each call in a PoolTask: how to encode the input into a
// worker's segment (process backend) or run the job here (thread backend), and how to complete
// the future (claim / deliver / fail, as for a one-shot run). The core assigns tasks to warm
// workers, queues the rest (FIFO), and completes them.
#pragma once

#include <isolate/detail/byte_writer.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/detail/progress_watch.hpp>
#include <isolate/export.hpp>
#include <isolate/job_context.hpp>
#include <isolate/run_options.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

namespace isolate::detail {

struct PoolTask {
  std::string job;                            // process: the job's name
  std::string_view tag;                       // process: the input codec tag
  std::function<void()> own_input;            // copies a view input's bytes: before the task
                                              // outlives the run() call that submitted it
  std::function<void(ByteWriter&)> encode;    // process: writes the input payload (Codec<In>::encode)
  std::function<void(JobContext&)> run_here;  // thread: runs the job, completes the future
  ProcessLaunch::Completion completion;       // claim / deliver / fail
  std::shared_ptr<ProgressWatch> progress;    // set: watches the job's reports while it runs
  std::stop_source stop;                      // thread: requested on cancel or pool shutdown
  bool withdrawn = false;                     // process: cancelled before submit() placed it
                                              // (guarded by the core's mutex)
};

class ISOLATE_EXPORT PoolCore {
 public:
  virtual ~PoolCore();
  /// Starts the job on an idle worker or queues it. Never blocks on a worker. Called inside the
  /// IsolatePool::run() that made the task: a task kept past it is made to own its input first.
  virtual void submit(std::shared_ptr<PoolTask> task) = 0;
  /// The token of `task` fired (its result is claimed): drop it from the queue, or kill the
  /// worker running it (process backend; replaced in the background) / request stop (threads).
  virtual void cancel(const std::shared_ptr<PoolTask>& task) noexcept = 0;
  /// Kills and reaps every worker (or requests stop and joins the threads); every queued and
  /// running task completes with CancelledException("pool destroyed").
  virtual void shutdown() noexcept = 0;
  [[nodiscard]] virtual std::size_t size() const noexcept = 0;
};

/// A core for `options` (backend resolved: process where available unless thread is asked).
ISOLATE_EXPORT std::shared_ptr<PoolCore> make_pool_core(const PoolOptions& options);
ISOLATE_EXPORT std::shared_ptr<PoolCore> make_thread_pool_core(std::size_t workers);
/// Throws IsolateError where the process backend is not built.
ISOLATE_EXPORT std::shared_ptr<PoolCore> make_process_pool_core(std::size_t workers, const PoolOptions& options);

}  // namespace isolate::detail
