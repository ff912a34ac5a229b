// json_stats_job.hpp — the job behind `isolate-run json-stats`: parse a JSON document and count
// what is in it. Built into isolate-run and isolate-worker.
#pragma once

#include <isolate/job.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace isolate::cli {

/// Input: the document's bytes. Output: {"bytes", "objects", "arrays", "strings", "numbers",
/// "booleans", "nulls", "max_depth", "parse_seconds", "peak_rss_bytes"} — or, for a malformed
/// document, nlohmann's parse_error rebuilt in the parent as std::invalid_argument whose
/// message carries the parser's text and byte position.
extern Job<std::string, nlohmann::json> json_stats;

}  // namespace isolate::cli
