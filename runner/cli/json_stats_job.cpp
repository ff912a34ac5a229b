// json_stats_job.cpp — parse the document into a DOM (the heavy work users offload) and walk it.
#include "json_stats_job.hpp"

#include <sys/resource.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace isolate::cli {
namespace {

struct Counts {
  std::uint64_t objects = 0, arrays = 0, strings = 0, numbers = 0, booleans = 0, nulls = 0;
  std::uint64_t max_depth = 0;
};

void walk(const nlohmann::json& value, std::uint64_t depth, Counts& counts) {
  if (depth > counts.max_depth) counts.max_depth = depth;
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      ++counts.objects;
      for (const auto& [key, member] : value.items()) walk(member, depth + 1, counts);
      break;
    case nlohmann::json::value_t::array:
      ++counts.arrays;
      for (const auto& element : value) walk(element, depth + 1, counts);
      break;
    case nlohmann::json::value_t::string:
      ++counts.strings;
      break;
    case nlohmann::json::value_t::boolean:
      ++counts.booleans;
      break;
    case nlohmann::json::value_t::null:
      ++counts.nulls;
      break;
    default:
      ++counts.numbers;
      break;
  }
}

nlohmann::json stats_of(const std::string_view& text) {
  const auto start = std::chrono::steady_clock::now();
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Rebuilt in the parent as std::invalid_argument; e.byte is the position of the error.
    throw std::invalid_argument(std::string(e.what()) + " [byte " + std::to_string(e.byte) + "]");
  }
  const double parse_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Counts counts;
  walk(document, 1, counts);
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return {{"bytes", text.size()},         {"objects", counts.objects},   {"arrays", counts.arrays},
          {"strings", counts.strings},    {"numbers", counts.numbers},   {"booleans", counts.booleans},
          {"nulls", counts.nulls},        {"max_depth", counts.max_depth}, {"parse_seconds", parse_seconds},
          {"peak_rss_bytes", static_cast<std::uint64_t>(usage.ru_maxrss) * 1024}};
}

}  // namespace

Job<std::string_view, nlohmann::json> json_stats("isolate.json-stats", stats_of);

}  // namespace isolate::cli
