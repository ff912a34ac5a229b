// test_errors.hpp — the exception the token and future tests cancel with, and how they look at a
// future's outcome.
#pragma once

#include <chrono>
#include <exception>
#include <future>
#include <stdexcept>

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

template <class T>
bool is_ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace isolate::test
