// json_stats_job.cpp — count what a JSON document holds: simdjson for speed, nlohmann's SAX
// parser to say exactly what is wrong with a document simdjson rejects.
#include "json_stats_job.hpp"

#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace isolate::cli {
namespace {

/// The deepest nesting the walk accepts (its stack costs one Open, about 64 bytes, a level,
/// taken only as deep as the document goes). A deeper document fails with a message naming it.
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

/// Counts a value of `kind` at `depth`. Every few thousand values it stops if the run was
/// cancelled and, given `where` (how many bytes of the document are behind the parse), reports
/// progress.
class Tally {
 public:
  Tally(Counts& counts, JobContext& context, std::uint64_t total) noexcept
      : counts_(counts), context_(context), total_(total) {}
  template <class Where>
  void add(std::uint64_t& kind, std::uint64_t depth, Where&& where) {
    ++kind;
    counts_.max_depth = std::max(counts_.max_depth, depth);
    if ((++values_ & 0xFFF) != 0) return;
    if (context_.stop_requested()) throw Stopped();
    if constexpr (!std::is_same_v<std::decay_t<Where>, std::nullptr_t>) context_.report_progress(where(), total_);
  }
  void add(std::uint64_t& kind, std::uint64_t depth) { add(kind, depth, nullptr); }

 private:
  Counts& counts_;
  JobContext& context_;
  std::uint64_t total_;
  std::uint64_t values_ = 0;
};

// ---- the fast path: simdjson on-demand, every value read, walked without recursion ------------

namespace od = simdjson::ondemand;

/// simdjson refused the document (or memory ran out): the precise path says why.
struct Rejected {
  simdjson::error_code error;
};

template <class T>
T take(simdjson::simdjson_result<T>&& result) {
  T value{};
  if (const auto error = std::move(result).get(value); error != simdjson::SUCCESS) throw Rejected{error};
  return value;
}

/// One open container on the walk: its iterator, and whether it has given a child yet.
struct Open {
  bool is_object;
  od::array_iterator element;
  od::object_iterator member;
  bool started = false;
};

/// Walks a document depth-first with an explicit stack, reading every value so that simdjson
/// validates it (numbers parsed, strings and keys unescaped, literals checked): any depth up to
/// kMaxDepth takes constant C++ stack.
class Walk {
 public:
  Walk(od::parser& parser, od::document& document, std::string_view text, Tally& tally, Counts& counts) noexcept
      : parser_(parser), document_(document), text_(text), tally_(tally), counts_(counts) {}

  void run() {
    count(document_, 1);
    while (!stack_.empty()) {
      od::value child;
      if (next_child(stack_.back(), child)) {
        count(child, stack_.size() + 1);
      } else {
        stack_.pop_back();
      }
    }
    // Past the last token, the document has nothing left to give (3.0 has no document::at_end).
    const char* after = nullptr;
    if (document_.current_location().get(after) != simdjson::OUT_OF_BOUNDS) throw Rejected{simdjson::TRAILING_CONTENT};
  }

 private:
  /// The next child of `top` (a member's key read and checked), or false once it has none left.
  bool next_child(Open& top, od::value& child) {
    if (top.is_object) {
      if (std::exchange(top.started, true)) ++top.member;
      if (!(top.member != top.member)) return false;  // on-demand: != asks "still open?"
      od::field member = take(*top.member);
      unescape(member.key());
      child = member.value();
      return true;
    }
    if (std::exchange(top.started, true)) ++top.element;
    if (!(top.element != top.element)) return false;
    child = take(*top.element);
    return true;
  }

  /// Counts `value` (the document or a value in it) at `depth`; a container is pushed, to be
  /// walked next.
  template <class Value>
  void count(Value& value, std::uint64_t depth) {
    switch (take(value.type())) {
      case od::json_type::array: {
        tally(counts_.arrays, depth);
        opening(depth);
        od::array array = take(value.get_array());
        stack_.push_back({false, take(array.begin()), {}});
        return;
      }
      case od::json_type::object: {
        tally(counts_.objects, depth);
        opening(depth);
        od::object object = take(value.get_object());
        stack_.push_back({true, {}, take(object.begin())});
        return;
      }
      case od::json_type::string:
        unescape(take(value.get_raw_json_string()));
        return tally(counts_.strings, depth);
      case od::json_type::number:
        take(value.get_number());
        return tally(counts_.numbers, depth);
      case od::json_type::boolean:
        take(value.get_bool());
        return tally(counts_.booleans, depth);
      case od::json_type::null:
        if (!take(value.is_null())) throw Rejected{simdjson::N_ATOM_ERROR};
        return tally(counts_.nulls, depth);
    }
    throw Rejected{simdjson::TAPE_ERROR};
  }

  static void opening(std::uint64_t depth) {
    if (depth > kMaxDepth) {
      throw std::invalid_argument("the document nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
  }

  /// Checks the escapes of `raw`, a string the walk has just passed, by unescaping it into a
  /// scratch buffer used again for the next one. (get_string() would write every string and key
  /// one after another into the parser's buffer: up to 5/3 of the document in fresh memory,
  /// which the first touch makes slow on a VM that returns freed memory to its host.)
  void unescape(od::raw_json_string raw) {
    // The string ends before the token the walk is now at (or the document's end).
    const char* next = nullptr;
    if (document_.current_location().get(next) != simdjson::SUCCESS) next = text_.data() + text_.size();
    const auto most = static_cast<std::size_t>(next - raw.raw()) + simdjson::SIMDJSON_PADDING;
    if (most > scratch_size_) {
      scratch_ = std::make_unique_for_overwrite<std::uint8_t[]>(most);
      scratch_size_ = most;
    }
    std::uint8_t* end = scratch_.get();
    take(parser_.unescape(raw, end));
  }

  void tally(std::uint64_t& kind, std::uint64_t depth) {
    tally_.add(kind, depth, [this] {
      const char* at = nullptr;
      return document_.current_location().get(at) == simdjson::SUCCESS ? static_cast<std::uint64_t>(at - text_.data())
                                                                       : std::uint64_t{0};
    });
  }

  od::parser& parser_;
  od::document& document_;
  std::string_view text_;
  Tally& tally_;
  Counts& counts_;
  std::vector<Open> stack_;
  std::unique_ptr<std::uint8_t[]> scratch_;
  std::size_t scratch_size_ = 0;
};

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
  explicit Counter(JobContext& context) noexcept : tally_(counts, context, 0) {}

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

Counts count_precisely(std::string_view text, JobContext& context) {
  Counter counter(context);
  nlohmann::json::sax_parse(text.begin(), text.end(), &counter);
  return counter.counts;
}

// ---- the job ------------------------------------------------------------------------------------

/// Counts `text` (followed by `padding` readable bytes) with simdjson, reporting progress as it
/// goes. A document nested too deep fails here; for anything else simdjson rejects, nlohmann's
/// parser says what is wrong and where (or, for what only simdjson rejects, counts it).
Counts count(std::string_view text, std::size_t padding, JobContext& context) {
  simdjson::padded_string copy;  // only where the input has no padding (the thread backend)
  if (padding < simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(text);
    text = copy;
    padding = simdjson::SIMDJSON_PADDING;
  }
  Counts counts;
  Tally tally(counts, context, text.size());
  context.report_progress(0, text.size());
  od::parser parser;
  try {
    // On-demand keeps no per-level state (its depth limit only holds in development builds):
    // the walk enforces kMaxDepth itself.
    if (const auto error = parser.allocate(text.size()); error != simdjson::SUCCESS) throw Rejected{error};
    od::document document = take(parser.iterate(text.data(), text.size(), text.size() + padding));
    Walk(parser, document, text, tally, counts).run();
  } catch (const Rejected& rejected) {
    if (rejected.error == simdjson::MEMALLOC) throw std::bad_alloc();
    return count_precisely(text, context);
  }
  context.report_progress(text.size(), text.size());
  return counts;
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
