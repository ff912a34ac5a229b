// json_stats_job.hpp — the job behind `isolate-run json-stats`: parse a JSON document and count
// what is in it. Built into isolate-run and isolate-worker.
#pragma once

#include <isolate/job.hpp>

#include <nlohmann/json.hpp>

#include <string_view>

namespace isolate::cli {

/// Input: the document's bytes, parsed in place in shared memory (no copy on the worker's heap:
/// a 500 MB document costs the worker 500 MB less). Output: {"bytes", "objects", "arrays",
/// "strings", "numbers", "booleans", "nulls", "max_depth", "parse_seconds", "peak_rss_bytes"}
/// — or, for a malformed
/// document, nlohmann's parse_error rebuilt in the parent as std::invalid_argument whose
/// message carries the parser's text and byte position.
extern Job<std::string_view, nlohmann::json> json_stats;

}  // namespace isolate::cli
