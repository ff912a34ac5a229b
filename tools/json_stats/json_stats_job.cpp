// json_stats_job.cpp — count what a JSON document holds in one SAX pass (no DOM, no recursion).
#include "json_stats_job.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace isolate::cli {
namespace {

/// The document was abandoned because the run was cancelled (thread backend).
struct Stopped : std::runtime_error {
  Stopped() : std::runtime_error("the parse was stopped") {}
};

/// nlohmann's parse error text without its id prefix, its quoted token cut to 40 characters, and
/// at most 300 characters in all.
std::string bounded(std::string_view text) {
  if (const auto at = text.find("] "); at != std::string_view::npos && text.starts_with("[json.exception")) {
    text.remove_prefix(at + 2);
  }
  std::string out;
  const std::string_view quote = "last read: '";
  if (const auto at = text.find(quote); at != std::string_view::npos) {
    const auto token_begin = at + quote.size();
    const auto token_end = text.find("'; ", token_begin);
    const auto token_size = (token_end == std::string_view::npos ? text.size() : token_end) - token_begin;
    if (token_size > 40) {
      out.append(text.substr(0, token_begin)).append(text.substr(token_begin, 40)).append("...");
      text.remove_prefix(token_end == std::string_view::npos ? text.size() : token_end);
    }
  }
  out.append(text);
  if (out.size() > 300) out.resize(300);
  return out;
}

/// Counts values by kind and the deepest nesting, as nlohmann's SAX parser reports them.
class Counter final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Counter(const JobContext& context) noexcept : context_(context) {}

  bool null() override { return scalar(nulls); }
  bool boolean(bool) override { return scalar(booleans); }
  bool number_integer(number_integer_t) override { return scalar(numbers); }
  bool number_unsigned(number_unsigned_t) override { return scalar(numbers); }
  bool number_float(number_float_t, const string_t&) override { return scalar(numbers); }
  bool string(string_t&) override { return scalar(strings); }
  bool binary(binary_t&) override { return scalar(strings); }  // not produced by the JSON parser
  bool key(string_t&) override { return true; }
  bool start_object(std::size_t) override { return open(objects); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(arrays); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& e) override {
    // nlohmann's message quotes the last token whole (a 100,000-digit number, a 1 GB string):
    // keep what is wrong and where, in a bounded message.
    const std::string what =
        e.id == 406 ? "a number out of the range of a double (" + std::to_string(last_token.size()) + " characters)"
                    : bounded(e.what());
    throw std::invalid_argument(what + " [byte " + std::to_string(position) + "]");
  }

  std::uint64_t objects = 0, arrays = 0, strings = 0, numbers = 0, booleans = 0, nulls = 0;
  std::uint64_t max_depth = 0;

 private:
  bool scalar(std::uint64_t& kind) {
    ++kind;
    return value_at(depth_ + 1);
  }
  bool open(std::uint64_t& kind) {
    ++kind;
    return value_at(++depth_);
  }
  bool close() {
    --depth_;
    return true;
  }
  bool value_at(std::uint64_t depth) {
    if (depth > max_depth) max_depth = depth;
    if ((++events_ & 0xFFF) == 0 && context_.stop_requested()) throw Stopped();
    return true;
  }

  const JobContext& context_;
  std::uint64_t depth_ = 0;
  std::uint64_t events_ = 0;
};

nlohmann::json stats_of(const std::string_view& text, JobContext& context) {
  const auto start = std::chrono::steady_clock::now();
  Counter counter(context);
  nlohmann::json::sax_parse(text.begin(), text.end(), &counter);
  const double parse_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return {{"bytes", text.size()},           {"objects", counter.objects},
          {"arrays", counter.arrays},       {"strings", counter.strings},
          {"numbers", counter.numbers},     {"booleans", counter.booleans},
          {"nulls", counter.nulls},         {"max_depth", counter.max_depth},
          {"parse_seconds", parse_seconds}, {"peak_rss_bytes", static_cast<std::uint64_t>(usage.ru_maxrss) * 1024}};
}

}  // namespace

Job<std::string_view, nlohmann::json> json_stats("isolate.json-stats", stats_of);

}  // namespace isolate::cli
