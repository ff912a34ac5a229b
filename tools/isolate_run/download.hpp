// download.hpp — isolate-run's input from a URL: the body written straight into a memfd as it
// arrives, which the worker then maps like a file (the body is copied once, from the socket's
// buffers into the memfd, and never again).
#pragma once

#include <isolate/cancellation_token.hpp>
#include <isolate/progress.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace isolate::cli {

/// True for an http:// or https:// URL.
bool is_url(std::string_view text) noexcept;

/// The server answered with a status other than 200.
struct DownloadStatusError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Downloads `url` into a new memfd (at most `max_bytes`) and returns it, rewound to its start;
/// the caller closes it. `token` stops the transfer at once. Throws the token's exception,
/// isolate::http::HttpError (no response, or over max_bytes), DownloadStatusError, or
/// std::system_error (the memfd could not be made or written).
int download(const std::string& url, const CancellationToken& token, std::uint64_t max_bytes,
             ProgressCallback on_progress);

}  // namespace isolate::cli
