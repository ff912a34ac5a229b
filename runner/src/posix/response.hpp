// response.hpp — completing a run's future from its worker's response (internal).
#pragma once

#include <isolate/detail/process_launch.hpp>
#include <isolate/limits.hpp>

#include "protocol/channel.hpp"

namespace isolate::detail {

/// Completes `completion` (already claimed) from the response in `channel` (state responded):
/// the value to deliver(), or the job's exception rebuilt to fail(). `decoded` runs once the
/// channel is no longer read, before the future is ready (not for a response that cannot be
/// read). Under `limits`, an output larger than output_bytes and a std::bad_alloc the job let
/// escape under memory_bytes fail with ResourceLimitExceeded. Throws IsolateError for a malformed
/// response (and what deliver() throws for a payload that does not decode).
void complete_from_response(Channel& channel, const ProcessLaunch::Completion& completion,
                            const ProcessLaunch::Decoded& decoded, const Limits& limits);

}  // namespace isolate::detail
