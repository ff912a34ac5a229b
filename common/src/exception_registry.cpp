// exception_registry.cpp — exception types rebuilt across the process boundary.
#include <isolate/detail/exception_registry.hpp>
#include <isolate/errors.hpp>

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <typeinfo>
#include <unordered_map>

namespace isolate::detail {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

class Registry {
 public:
  static Registry& instance() {
    static Registry registry;
    return registry;
  }

  void add(std::type_index type, std::string name, ExceptionFactory factory) {
    std::lock_guard lock(mutex_);
    if (by_name_.count(name) != 0) fail_at_startup("two exception types are registered as '" + name + "'");
    if (by_type_.count(type) != 0) {
      fail_at_startup("exception type " + demangle(type.name()) + " is registered twice (as '" + by_type_.at(type) +
                      "' and '" + name + "')");
    }
    by_type_.emplace(type, name);
    by_name_.emplace(std::move(name), std::move(factory));
  }

  void remove(std::type_index type) noexcept {
    std::lock_guard lock(mutex_);
    auto it = by_type_.find(type);
    if (it == by_type_.end()) return;
    by_name_.erase(it->second);
    by_type_.erase(it);
  }

  std::string name_of(std::type_index type) {
    std::lock_guard lock(mutex_);
    auto it = by_type_.find(type);
    return it != by_type_.end() ? it->second : demangle(type.name());
  }

  ExceptionFactory factory_of(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = by_name_.find(name);
    return it != by_name_.end() ? it->second : ExceptionFactory{};
  }

 private:
  template <class E>
  void builtin(const char* name) {
    add(typeid(E), name, [](const std::string& message) { return std::make_exception_ptr(E(message)); });
  }

  Registry() {
    builtin<std::logic_error>("std::logic_error");
    builtin<std::invalid_argument>("std::invalid_argument");
    builtin<std::domain_error>("std::domain_error");
    builtin<std::length_error>("std::length_error");
    builtin<std::out_of_range>("std::out_of_range");
    builtin<std::runtime_error>("std::runtime_error");
    builtin<std::range_error>("std::range_error");
    builtin<std::overflow_error>("std::overflow_error");
    builtin<std::underflow_error>("std::underflow_error");
    add(typeid(std::bad_alloc), "std::bad_alloc",
        [](const std::string&) { return std::make_exception_ptr(std::bad_alloc()); });
    builtin<IsolateError>("isolate::IsolateError");
    builtin<InputError>("isolate::InputError");
    builtin<CancelledException>("isolate::CancelledException");
  }

  std::mutex mutex_;
  std::unordered_map<std::type_index, std::string> by_type_;
  std::unordered_map<std::string, ExceptionFactory> by_name_;
};

}  // namespace

void register_exception_type(std::type_index type, std::string name, ExceptionFactory factory) {
  Registry::instance().add(type, std::move(name), std::move(factory));
}

void unregister_exception_type(std::type_index type) noexcept { Registry::instance().remove(type); }

CapturedException capture_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return {Registry::instance().name_of(typeid(e)), e.what()};
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return {type != nullptr ? demangle(type->name()) : std::string("unknown"), ""};
  }
}

std::exception_ptr rebuild_exception(const std::string& type_name, const std::string& message) {
  if (auto factory = Registry::instance().factory_of(type_name)) {
    try {
      return factory(message);
    } catch (...) {
      // The type's constructor threw: report what we know instead.
    }
  }
  return std::make_exception_ptr(JobError(type_name, message));
}

void fail_at_startup(const std::string& what) noexcept {
  std::fprintf(stderr, "isolate: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(70);
}

}  // namespace isolate::detail
