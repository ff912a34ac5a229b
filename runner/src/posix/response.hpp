// response.hpp — completing a run's future from its worker's response (internal).
#pragma once

#include <isolate/detail/process_launch.hpp>

#include "protocol/channel.hpp"

namespace isolate::detail {

/// Completes `completion` (already claimed) from the response in `channel` (state responded):
/// the value to deliver(), or the job's exception rebuilt to fail(). Throws IsolateError for a
/// malformed response (and what deliver() throws for a payload that does not decode).
void complete_from_response(Channel& channel, const ProcessLaunch::Completion& completion);

}  // namespace isolate::detail
