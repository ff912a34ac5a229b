// response.cpp — complete_from_response: a value, or the job's exception rebuilt.
#include "response.hpp"

#include <isolate/detail/exception_registry.hpp>
#include <isolate/errors.hpp>

namespace isolate::detail {

void complete_from_response(Channel& channel, const ProcessLaunch::Completion& completion,
                            const ProcessLaunch::Decoded& decoded, const Limits& limits) {
  using Resource = ResourceLimitExceeded::Resource;
  const auto response = channel.read_response();
  if (response.is_error) {
    auto error = limits.memory_bytes != 0 && response.error_type == "std::bad_alloc"
                     ? std::make_exception_ptr(ResourceLimitExceeded(Resource::memory, limits.memory_bytes))
                     : rebuild_exception(response.error_type, response.error_message);
    decoded();
    completion.fail(std::move(error));
  } else if (limits.output_bytes != 0 && response.payload.size() > limits.output_bytes) {
    decoded();
    completion.fail(std::make_exception_ptr(ResourceLimitExceeded(Resource::output, limits.output_bytes)));
  } else {
    completion.deliver(response.payload, decoded);
  }
}

}  // namespace isolate::detail
