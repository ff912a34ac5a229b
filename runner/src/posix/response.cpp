// response.cpp — complete_from_response: a value, or the job's exception rebuilt.
#include "response.hpp"

#include <isolate/detail/exception_registry.hpp>

namespace isolate::detail {

void complete_from_response(Channel& channel, const ProcessLaunch::Completion& completion,
                            const ProcessLaunch::Decoded& decoded) {
  const auto response = channel.read_response();
  if (response.is_error) {
    auto error = rebuild_exception(response.error_type, response.error_message);
    decoded();
    completion.fail(std::move(error));
  } else {
    completion.deliver(response.payload, decoded);
  }
}

}  // namespace isolate::detail
