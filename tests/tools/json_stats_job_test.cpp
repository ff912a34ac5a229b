// The json-stats job against nlohmann's parser: on thousands of documents mutated at random
// (fixed seed), the fast path accepts exactly what nlohmann accepts and counts what it counts,
// with the input padded (a worker's segment) or not (the thread backend); and it reports the
// whole document as parsed when done.
#include <gtest/gtest.h>
#include <isolate/detail/progress_cell.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include "json_stats_job.hpp"

namespace {

struct Counts {
  std::uint64_t objects = 0, arrays = 0, strings = 0, numbers = 0, booleans = 0, nulls = 0, max_depth = 0;
  bool operator==(const Counts&) const = default;
};

/// Counts values as nlohmann's SAX parser meets them (a DOM would merge duplicate keys).
class Reference final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return scalar(counts.nulls); }
  bool boolean(bool) override { return scalar(counts.booleans); }
  bool number_integer(number_integer_t) override { return scalar(counts.numbers); }
  bool number_unsigned(number_unsigned_t) override { return scalar(counts.numbers); }
  bool number_float(number_float_t, const string_t&) override { return scalar(counts.numbers); }
  bool string(string_t&) override { return scalar(counts.strings); }
  bool binary(binary_t&) override { return false; }
  bool key(string_t&) override { return true; }
  bool start_object(std::size_t) override { return open(counts.objects); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(counts.arrays); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

  Counts counts;

 private:
  bool scalar(std::uint64_t& kind) {
    ++kind;
    counts.max_depth = std::max(counts.max_depth, depth_ + 1);
    return true;
  }
  bool open(std::uint64_t& kind) {
    ++kind;
    counts.max_depth = std::max(counts.max_depth, ++depth_);
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  std::uint64_t depth_ = 0;
};

/// What nlohmann makes of `text`: its counts, or nothing if it rejects it.
std::optional<Counts> reference(std::string_view text) {
  Reference reference;
  if (!nlohmann::json::sax_parse(text, &reference)) return std::nullopt;
  return reference.counts;
}

Counts counts_of(const nlohmann::json& stats) {
  return {stats.at("objects"),  stats.at("arrays"), stats.at("strings"),  stats.at("numbers"),
          stats.at("booleans"), stats.at("nulls"),  stats.at("max_depth")};
}

/// What the job makes of `text` (followed by `padding` zero bytes): its counts, or nothing if it
/// throws std::invalid_argument.
std::optional<Counts> job(std::string_view text, std::size_t padding, isolate::detail::ProgressCell* cell = nullptr) {
  std::string padded(text);
  padded.append(padding, '\0');
  isolate::JobContext context({}, padding, cell);
  try {
    return counts_of((*isolate::cli::json_stats.function())(std::string_view(padded.data(), text.size()), context));
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

const char* const kSeeds[] = {
    R"({"a": [1, 2.5, -3e-2, "s", true, false, null, {"b": []}], "c": {}, "d": "\u00e9\n\"x\""})",
    R"([[[{"k": "v"}]], [], {}, 0, 1E+2, "\ud83d\ude00", "caf\u00e9", "tab\t"])",
    R"({"nested": {"deeper": {"deepest": [null, true, 18446744073709551615, 1e308]}}})",
    R"("just a string")",
    R"(12345678901234567890123)",
    "[\"\xc3\xa9\", \"\xe2\x82\xac\", {\"\xf0\x9f\x98\x80\": 1}]",
};

/// `text` with 1-3 random edits: a byte deleted, inserted or replaced (from characters that
/// matter to JSON, and some invalid UTF-8), or a slice repeated.
std::string mutate(std::string text, std::mt19937& random) {
  static const std::string alphabet = "{}[]:,\"\\ \t\n0123456789.-+eEtrufalsnu\x01\x7f\xc3\xa9\xff\x80";
  auto pick = [&random](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
  const auto edits = 1 + pick(3);
  for (std::size_t i = 0; i < edits; ++i) {
    const auto at = text.empty() ? 0 : pick(text.size());
    switch (pick(4)) {
      case 0:
        if (!text.empty()) text.erase(at, 1);
        break;
      case 1:
        text.insert(at, 1, alphabet[pick(alphabet.size())]);
        break;
      case 2:
        if (!text.empty()) text[at] = alphabet[pick(alphabet.size())];
        break;
      default:
        text.insert(at, text.substr(at, pick(8) + 1));
        break;
    }
  }
  return text;
}

TEST(JsonStatsJob, AcceptsAndCountsExactlyWhatNlohmannDoesOnMutatedDocuments) {
  std::mt19937 random(20261202);
  int valid = 0;
  int invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = mutate(kSeeds[static_cast<std::size_t>(i) % std::size(kSeeds)], random);
    const auto expected = reference(text);
    (expected ? valid : invalid)++;
    for (const std::size_t padding : {std::size_t{0}, std::size_t{64}}) {
      const auto actual = job(text, padding);
      ASSERT_EQ(actual.has_value(), expected.has_value()) << "padding " << padding << ", document: " << text;
      if (expected) {
        ASSERT_EQ(*actual, *expected) << "document: " << text;
      }
    }
  }
  // Both kinds must be well represented, or the comparison proves little.
  EXPECT_GT(valid, 2000);
  EXPECT_GT(invalid, 2000);
}

TEST(JsonStatsJob, CountsTheUnmutatedSeeds) {
  for (const char* seed : kSeeds) {
    const auto expected = reference(seed);
    ASSERT_TRUE(expected) << seed;
    EXPECT_EQ(job(seed, 64), expected) << seed;
  }
}

TEST(JsonStatsJob, ReportsTheWholeDocumentAsParsedWhenDone) {
  std::string text = "[";
  for (int i = 0; i < 100000; ++i) text += R"({"n": 1, "s": "x"},)";
  text += "null]";
  isolate::detail::ProgressCell cell;
  ASSERT_TRUE(job(text, 64, &cell));
  EXPECT_EQ(cell.done.load(), text.size());
  EXPECT_EQ(cell.total.load(), text.size());
}

TEST(JsonStatsJob, ChecksTheEscapesOfLongStringsAndKeysWhereverTheyStand) {
  std::string escaped;
  for (int i = 0; i < 20000; ++i) escaped += R"(\u00e9\n\"x)";
  const std::string long_string = '"' + escaped + '"';
  for (const std::string& text : {long_string, "[" + long_string + "]", "{" + long_string + ":" + long_string + "}",
                                  "[\"short\", " + long_string + ", {\"k\": " + long_string + "}]"}) {
    for (const std::size_t padding : {std::size_t{0}, std::size_t{64}}) {
      ASSERT_TRUE(reference(text)) << text.substr(0, 40);
      EXPECT_EQ(job(text, padding), reference(text)) << text.substr(0, 40);
      std::string broken = text;
      broken.replace(broken.rfind(R"(\n)"), 2, R"(\q)");  // the last escape, an invalid one
      EXPECT_FALSE(reference(broken));
      EXPECT_FALSE(job(broken, padding)) << broken.substr(0, 40);
    }
  }
}

TEST(JsonStatsJob, RejectsTrailingContentAfterAContainer) {
  EXPECT_FALSE(job("[1] [2]", 64));
  EXPECT_FALSE(job("{} x", 0));
  EXPECT_TRUE(job("[1]  \n", 64));
}

}  // namespace
