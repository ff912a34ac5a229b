// exception_registry.hpp — which exception types cross the process boundary as themselves
// (internal; reachable because ExceptionType<E>, a template, registers here).
//
// The worker catches what a job throws and sends (type name, message); the parent rebuilds the
// exception if the name is registered on its side, else reports JobError. The standard
// exception types listed in API.md and isolate's own are registered by the library; users add
// theirs with isolate::ExceptionType<E>. Only the exact type matches: a type derived from a
// registered one is not itself registered.
#pragma once

#include <isolate/export.hpp>

#include <exception>
#include <functional>
#include <string>
#include <typeindex>

namespace isolate::detail {

struct CapturedException {
  std::string type_name;  // the registered name, or the demangled type
  std::string message;    // what(), or "" for a type not derived from std::exception
};

using ExceptionFactory = std::function<std::exception_ptr(const std::string& message)>;

/// Registers `type` under `name`. A name or type registered twice is a start-up error: prints a
/// message naming it and exits the program with a non-zero status.
ISOLATE_EXPORT void register_exception_type(std::type_index type, std::string name, ExceptionFactory factory);
/// Removes a registration (ExceptionType's destructor).
ISOLATE_EXPORT void unregister_exception_type(std::type_index type) noexcept;

/// Describes the exception being handled. Call only inside a catch block.
ISOLATE_EXPORT CapturedException capture_current_exception();

/// The exception to hand to the parent's caller: the registered type rebuilt, else JobError.
ISOLATE_EXPORT std::exception_ptr rebuild_exception(const std::string& type_name, const std::string& message);

/// Prints "isolate: <what>" to stderr and exits with status 70 (EX_SOFTWARE): used for
/// programming errors found at start-up, such as duplicate job names.
[[noreturn]] ISOLATE_EXPORT void fail_at_startup(const std::string& what) noexcept;

}  // namespace isolate::detail
