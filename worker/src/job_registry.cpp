// job_registry.cpp — the program's jobs by name.
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/job_registry.hpp>

#include <map>
#include <mutex>

namespace isolate::detail {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<const JobEntry>, std::less<>> jobs;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

void register_job(const std::string& name, std::shared_ptr<const JobEntry> entry) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  if (name.empty()) fail_at_startup("a job has an empty name");
  if (!r.jobs.emplace(name, std::move(entry)).second) {
    fail_at_startup("two jobs are named '" + name + "'; job names must be unique in a program");
  }
}

void unregister_job(const std::string& name) noexcept {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.jobs.erase(name);
}

std::shared_ptr<const JobEntry> find_job(std::string_view name) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.jobs.find(name);
  return it != r.jobs.end() ? it->second : nullptr;
}

}  // namespace isolate::detail
