// runner_error.hpp — every failure of the runner reaches the caller as an IsolateError
// (internal).
//
// The runner calls into Boost.Asio, the standard library and the kernel, which throw their own
// types (boost::system::system_error for "epoll: Too many open files", std::system_error when a
// thread cannot start). The public contract allows only IsolateError (and std::bad_alloc) in a
// run's future; these helpers translate at the boundary.
#pragma once

#include <isolate/errors.hpp>

#include <exception>
#include <new>
#include <string>

namespace isolate::detail {

/// Inside a catch block: the exception being handled if it is an IsolateError or bad_alloc, else
/// an IsolateError "isolate: <doing>: <what()>". Never throws (falls back to the original).
inline std::exception_ptr current_exception_as_isolate_error(const char* doing) noexcept {
  auto original = std::current_exception();
  try {
    std::rethrow_exception(original);
  } catch (const IsolateError&) {
    return original;
  } catch (const std::bad_alloc&) {
    return original;
  } catch (const std::exception& e) {
    try {
      return std::make_exception_ptr(IsolateError(std::string("isolate: ") + doing + ": " + e.what()));
    } catch (...) {
      return original;
    }
  } catch (...) {
    try {
      return std::make_exception_ptr(IsolateError(std::string("isolate: ") + doing + ": unknown error"));
    } catch (...) {
      return original;
    }
  }
}

}  // namespace isolate::detail
