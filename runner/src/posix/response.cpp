// response.cpp — complete_from_response: a value, or the job's exception rebuilt.
#include "response.hpp"

#include <isolate/detail/exception_registry.hpp>

namespace isolate::detail {

void complete_from_response(Channel& channel, const ProcessLaunch::Completion& completion) {
  const auto response = channel.read_response();
  if (response.is_error) {
    completion.fail(rebuild_exception(response.error_type, response.error_message));
  } else {
    completion.deliver(response.payload);
  }
}

}  // namespace isolate::detail
