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
/// The parse builds no document tree and recurses nowhere (a SAX parse: statistics need no
/// DOM), so any nesting depth parses in constant stack; its memory is one bit per open level.
/// A malformed document fails with std::invalid_argument: "<what is wrong> at byte N", at most a
/// few hundred characters whatever the document holds (a 100,000-digit number included). On the
/// thread backend the parse stops within a few thousand tokens of a stop request.
extern Job<std::string_view, nlohmann::json> json_stats;

}  // namespace isolate::cli
