// json_stats_job.cpp — count what a JSON document holds: simdjson for speed, nlohmann's SAX
// parser to say exactly what is wrong with a document simdjson rejects.
#include "json_stats_job.hpp"

#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace isolate::cli {
namespace {

/// The deepest nesting the fast parser accepts (its stack costs about 9 bytes a level, taken
/// only as deep as the document goes). A deeper document fails with a message naming it.
constexpr std::size_t kMaxDepth = 10'000'000;

/// The document was abandoned because the run was cancelled (thread backend).
struct Stopped : std::runtime_error {
  Stopped() : std::runtime_error("the parse was stopped") {}
};

/// Counts of values by kind and the deepest nesting (a top-level scalar or container is at
/// depth 1; what a container holds, one deeper).
struct Counts {
  std::uint64_t objects = 0, arrays = 0, strings = 0, numbers = 0, booleans = 0, nulls = 0;
  std::uint64_t max_depth = 0;
};

/// Counts `count` for a value at `depth`; stops every few thousand values if asked to.
class Tally {
 public:
  Tally(Counts& counts, const JobContext& context) noexcept : counts_(counts), context_(context) {}
  void add(std::uint64_t& kind, std::uint64_t depth) {
    ++kind;
    counts_.max_depth = std::max(counts_.max_depth, depth);
    if ((++values_ & 0xFFF) == 0 && context_.stop_requested()) throw Stopped();
  }

 private:
  Counts& counts_;
  const JobContext& context_;
  std::uint64_t values_ = 0;
};

// ---- the fast path: simdjson's DOM, walked without recursion ---------------------------------

/// Counts `element` (a scalar), or returns true for a container (the caller walks it).
bool count_scalar(simdjson::dom::element element, std::uint64_t depth, Counts& counts, Tally& tally) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::ARRAY:
      tally.add(counts.arrays, depth);
      return true;
    case Type::OBJECT:
      tally.add(counts.objects, depth);
      return true;
    case Type::STRING:
      tally.add(counts.strings, depth);
      return false;
    case Type::INT64:
    case Type::UINT64:
    case Type::DOUBLE:
      tally.add(counts.numbers, depth);
      return false;
    case Type::BOOL:
      tally.add(counts.booleans, depth);
      return false;
    case Type::NULL_VALUE:
      tally.add(counts.nulls, depth);
      return false;
  }
  return false;
}

/// One open container on the walk: the children still to count.
struct Open {
  bool is_object;
  simdjson::dom::array::iterator next_element, end_element;
  simdjson::dom::object::iterator next_member, end_member;
};

Open open(simdjson::dom::element container) {
  if (container.type() == simdjson::dom::element_type::OBJECT) {
    const simdjson::dom::object object(container);
    return {true, {}, {}, object.begin(), object.end()};
  }
  const simdjson::dom::array array(container);
  return {false, array.begin(), array.end(), {}, {}};
}

/// The next child of `top`, or nothing once it has none left.
bool next_child(Open& top, simdjson::dom::element& child) {
  if (top.is_object) {
    if (top.next_member == top.end_member) return false;
    child = top.next_member.value();
    ++top.next_member;
    return true;
  }
  if (top.next_element == top.end_element) return false;
  child = *top.next_element;
  ++top.next_element;
  return true;
}

/// Counts a parsed document depth-first with an explicit stack: any depth the parser accepted
/// takes constant C++ stack.
Counts count_document(simdjson::dom::element root, const JobContext& context) {
  Counts counts;
  Tally tally(counts, context);
  if (!count_scalar(root, 1, counts, tally)) return counts;
  std::vector<Open> stack{open(root)};
  simdjson::dom::element child;
  while (!stack.empty()) {
    if (!next_child(stack.back(), child)) {
      stack.pop_back();
      continue;
    }
    if (count_scalar(child, stack.size() + 1, counts, tally)) stack.push_back(open(child));
  }
  return counts;
}

// ---- the precise path: nlohmann's SAX parser, for what the fast one rejects ------------------

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

/// Counts as nlohmann's SAX parser reports values; throws std::invalid_argument with a bounded
/// message at the first error. Recursion-free, like the walk above.
class Counter final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Counter(const JobContext& context) noexcept : tally_(counts, context) {}

  bool null() override { return scalar(counts.nulls); }
  bool boolean(bool) override { return scalar(counts.booleans); }
  bool number_integer(number_integer_t) override { return scalar(counts.numbers); }
  bool number_unsigned(number_unsigned_t) override { return scalar(counts.numbers); }
  bool number_float(number_float_t, const string_t&) override { return scalar(counts.numbers); }
  bool string(string_t&) override { return scalar(counts.strings); }
  bool binary(binary_t&) override { return scalar(counts.strings); }  // not produced by the JSON parser
  bool key(string_t&) override { return true; }
  bool start_object(std::size_t) override { return open(counts.objects); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(counts.arrays); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& e) override {
    // nlohmann's message quotes the last token whole (a 100,000-digit number, a 1 GB string):
    // keep what is wrong and where, in a bounded message.
    const std::string what =
        e.id == 406 ? "a number out of the range of a double (" + std::to_string(last_token.size()) + " characters)"
                    : bounded(e.what());
    throw std::invalid_argument(what + " [byte " + std::to_string(position) + "]");
  }

  Counts counts;

 private:
  bool scalar(std::uint64_t& kind) {
    tally_.add(kind, depth_ + 1);
    return true;
  }
  bool open(std::uint64_t& kind) {
    tally_.add(kind, ++depth_);
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  Tally tally_;
  std::uint64_t depth_ = 0;
};

Counts count_precisely(std::string_view text, const JobContext& context) {
  Counter counter(context);
  nlohmann::json::sax_parse(text.begin(), text.end(), &counter);
  return counter.counts;
}

// ---- the job ------------------------------------------------------------------------------------

/// Parses `text` (followed by `padding` readable bytes) with simdjson. A document it rejects
/// for depth fails here; for anything else nlohmann's parser says what is wrong and where (or,
/// for what only simdjson rejects, counts it).
Counts count(std::string_view text, std::size_t padding, const JobContext& context) {
  simdjson::dom::parser parser;
  simdjson::padded_string copy;  // only where the input has no padding (the thread backend)
  if (padding < simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(text);
    text = copy;
  }
  if (parser.allocate(text.size(), std::min(text.size() + 2, kMaxDepth)) != simdjson::SUCCESS) throw std::bad_alloc();
  simdjson::dom::element root;
  const auto error = parser.parse(text.data(), text.size(), /*realloc_if_needed=*/false).get(root);
  if (error == simdjson::SUCCESS) return count_document(root, context);
  if (error == simdjson::MEMALLOC) throw std::bad_alloc();
  if (error == simdjson::DEPTH_ERROR) {
    throw std::invalid_argument("the document nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  return count_precisely(text, context);
}

nlohmann::json stats_of(const std::string_view& text, JobContext& context) {
  const auto start = std::chrono::steady_clock::now();
  const Counts counts = count(text, context.input_padding(), context);
  const double parse_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return {{"bytes", text.size()},           {"objects", counts.objects},
          {"arrays", counts.arrays},        {"strings", counts.strings},
          {"numbers", counts.numbers},      {"booleans", counts.booleans},
          {"nulls", counts.nulls},          {"max_depth", counts.max_depth},
          {"parse_seconds", parse_seconds}, {"peak_rss_bytes", static_cast<std::uint64_t>(usage.ru_maxrss) * 1024}};
}

}  // namespace

Job<std::string_view, nlohmann::json> json_stats("isolate.json-stats", stats_of);

}  // namespace isolate::cli
