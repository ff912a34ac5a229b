// test_errors.hpp — the exception the token and future tests cancel with, and how they look at a
// future's outcome.
#pragma once

#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <future>
#include <stdexcept>
#include <string>

namespace isolate::test {

/// An exception type no library code throws: seeing it proves it came from the test.
struct TestError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::exception_ptr test_error(const char* what = "test exception") {
  return std::make_exception_ptr(TestError{what});
}

/// What f.get() threw (null if it returned).
template <class T>
std::exception_ptr error_of(std::future<T>& f) {
  try {
    (void)f.get();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

/// The reason of the CancelledException in `e`; "<not a CancelledException>" (and a test
/// failure) if `e` holds anything else.
inline std::string cancelled_reason(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const CancelledException& cancelled) {
    return cancelled.reason();
  } catch (...) {
    ADD_FAILURE() << "not a CancelledException";
  }
  return "<not a CancelledException>";
}

template <class T>
bool is_ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace isolate::test
