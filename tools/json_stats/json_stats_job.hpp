// json_stats_job.hpp — the job behind `isolate-run json-stats`: parse a JSON document and count
// what is in it. Built into isolate-run and isolate-worker.
#pragma once

#include <isolate/job.hpp>

#include <nlohmann/json.hpp>

#include <string_view>

namespace isolate::cli {

/// Input: the document's bytes, parsed in place in shared memory (no copy on the worker's heap).
/// Output: {"bytes", "objects", "arrays", "strings", "numbers", "booleans", "nulls",
/// "max_depth", "parse_seconds", "peak_rss_bytes"}.
///
/// Parsed with simdjson's on-demand parser, every value read so that all of it is validated
/// (numbers parsed, strings and keys unescaped), walked without recursion: any nesting up to
/// 10,000,000 levels parses in constant stack; deeper fails with std::invalid_argument naming
/// the limit. A document simdjson rejects for anything else is parsed again with nlohmann's SAX
/// parser, which says what is wrong and where: std::invalid_argument "<what is wrong> [byte N]",
/// at most a few hundred characters whatever the document holds (a 100,000-digit number
/// included). Every few thousand values the job reports how many bytes of the document are
/// behind the parse (JobContext::report_progress, total: the document's size) and, on the
/// thread backend, stops if asked to (the input is copied once there, into a padded buffer).
extern Job<std::string_view, nlohmann::json> json_stats;

}  // namespace isolate::cli
