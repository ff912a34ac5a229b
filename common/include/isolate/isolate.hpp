// isolate.hpp — the umbrella header: everything public in isolate.
#pragma once

#include <isolate/cancellable_completer.hpp>
#include <isolate/cancellable_future.hpp>
#include <isolate/cancellable_isolate.hpp>
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>
#include <isolate/file_input.hpp>
#include <isolate/isolate_pool.hpp>
#include <isolate/job.hpp>
#include <isolate/job_context.hpp>
#include <isolate/progress.hpp>
#include <isolate/run_options.hpp>
#include <isolate/worker.hpp>
