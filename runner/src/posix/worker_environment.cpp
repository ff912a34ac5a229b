// worker_environment.cpp — this process's environment with the worker's malloc tunables.
#include "worker_environment.hpp"

#include <algorithm>
#include <string_view>

extern "C" {
extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared
}

namespace isolate::detail {
namespace {

constexpr std::string_view kTunables = "GLIBC_TUNABLES=";

/// Appends "name=value" to a colon-separated tunables list unless it already sets `name`.
void add_unless_set(std::string& tunables, std::string_view name, const std::string& value) {
  for (std::size_t begin = 0; begin <= tunables.size();) {
    const auto end = std::min(tunables.find(':', begin), tunables.size());
    const std::string_view item(tunables.data() + begin, end - begin);
    if (item.starts_with(name) && item.size() > name.size() && item[name.size()] == '=') return;
    begin = end + 1;
  }
  if (!tunables.empty()) tunables += ':';
  tunables.append(name).append("=").append(value);
}

}  // namespace

std::vector<std::string> worker_environment() {
  std::vector<std::string> environment;
  std::string tunables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.starts_with(kTunables)) {
      tunables = text.substr(kTunables.size());
    } else {
      environment.emplace_back(text);
    }
  }
  add_unless_set(tunables, "glibc.malloc.hugetlb", "1");
  add_unless_set(tunables, "glibc.malloc.top_pad", std::to_string(kWorkerTopPad));
  environment.push_back(std::string(kTunables).append(tunables));
  return environment;
}

}  // namespace isolate::detail
