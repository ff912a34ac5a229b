// transfer.cpp — Transfer: a Request turned into curl options, curl's callbacks filling the
// Response, and the verdict turned into the future's value or HttpError.
#include "transfer.hpp"

#include <isolate/detail/fresh_memory.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace isolate::http::detail {
namespace {

/// The longest chain of redirects followed before giving up (curl's own default is 30).
constexpr long kMaxRedirects = 20;

template <class Value>
void set(CURL* easy, CURLoption option, Value value) {
  if (const CURLcode code = curl_easy_setopt(easy, option, value); code != CURLE_OK) {
    throw HttpError(std::string("cannot set up the request: ") + curl_easy_strerror(code));
  }
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

curl_off_t as_off_t(std::size_t size) {
  return static_cast<curl_off_t>(std::min<std::size_t>(size, std::numeric_limits<curl_off_t>::max()));
}

std::uint64_t as_count(curl_off_t value) { return value > 0 ? static_cast<std::uint64_t>(value) : 0; }

}  // namespace

std::shared_ptr<Transfer> Transfer::create(Request request, const ClientOptions& options, Stop stop,
                                           isolate::detail::ResultHooks hooks) {
  std::shared_ptr<Transfer> transfer(new Transfer(std::move(request)));
  std::function<void()> on_cancel = [weak = std::weak_ptr<Transfer>(transfer), stop = std::move(stop)] {
    if (auto self = weak.lock()) stop(self);
  };
  transfer->send_watch_ = isolate::detail::ProgressWatch::create(std::move(transfer->request_.on_send_progress));
  transfer->receive_watch_ = isolate::detail::ProgressWatch::create(std::move(transfer->request_.on_receive_progress));
  // The watches close when the result is claimed: no report after the future is ready.
  hooks = isolate::detail::closing_progress(
      transfer->send_watch_, isolate::detail::closing_progress(transfer->receive_watch_, std::move(hooks)));
  transfer->result_ = isolate::detail::CancellableResult<Response>::create(std::move(on_cancel), std::move(hooks));
  // A progress callback that throws ends its request like a cancel, with its exception.
  std::weak_ptr<isolate::detail::CancellableResult<Response>> weak = transfer->result_;
  for (const auto& watch : {transfer->send_watch_, transfer->receive_watch_}) {
    if (!watch) continue;
    watch->set_on_error([weak](std::exception_ptr error) {
      if (auto result = weak.lock()) result->cancel_with(std::move(error));
    });
  }
  transfer->configure(options);
  return transfer;
}

Transfer::Transfer(Request request) : request_(std::move(request)) {
  easy_ = curl_easy_init();
  if (easy_ == nullptr) throw HttpError("cannot set up the request: curl_easy_init failed");
}

Transfer::~Transfer() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

void Transfer::configure(const ClientOptions& options) {
  set(easy_, CURLOPT_URL, request_.url.c_str());
  if (!options.ca_file.empty()) set(easy_, CURLOPT_CAINFO, options.ca_file.c_str());
  set(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  set(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(easy_, CURLOPT_FOLLOWLOCATION, 1L);
  set(easy_, CURLOPT_MAXREDIRS, kMaxRedirects);
  set(easy_, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this curl decodes
  set(easy_, CURLOPT_NOSIGNAL, 1L);
  // A transfer taken off while its name lookup runs would otherwise wait for getaddrinfo to
  // return (seconds with a dead DNS server: curl's known bug "multi perform hangs waiting for
  // threaded resolver"). With this, the resolver thread is left to finish on its own and its
  // few bytes may leak: a cancel returns at once.
  set(easy_, CURLOPT_QUICK_EXIT, 1L);
  set(easy_, CURLOPT_ERRORBUFFER, error_.data());
  set(easy_, CURLOPT_PRIVATE, static_cast<void*>(this));
  set(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  set(easy_, CURLOPT_WRITEDATA, static_cast<void*>(this));
  set(easy_, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  set(easy_, CURLOPT_HEADERDATA, static_cast<void*>(this));
  if (request_.max_body_bytes != 0) set(easy_, CURLOPT_MAXFILESIZE_LARGE, as_off_t(request_.max_body_bytes));
  set_method();
  bool expect_given = false;
  for (const auto& [name, value] : request_.headers) {
    // "Name;" is curl's way to send a header with an empty value ("Name:" would remove it).
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* appended = curl_slist_append(headers_, line.c_str());
    if (appended == nullptr) throw std::bad_alloc();
    headers_ = appended;
    const std::string_view expect = "expect";
    if (std::equal(name.begin(), name.end(), expect.begin(), expect.end(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
      expect_given = true;
    }
  }
  // No "Expect: 100-continue" round trip before a large body unless the caller asks for it.
  if (!expect_given) headers_ = curl_slist_append(headers_, "Expect:");
  if (headers_ == nullptr) throw std::bad_alloc();
  set(easy_, CURLOPT_HTTPHEADER, headers_);
  set_progress();
}

void Transfer::set_method() {
  const std::string& method = request_.method;
  if (method == "HEAD") {
    set(easy_, CURLOPT_NOBODY, 1L);
    return;
  }
  if (method == "POST" || !request_.body.empty()) {
    set(easy_, CURLOPT_POSTFIELDSIZE_LARGE, as_off_t(request_.body.size()));
    set(easy_, CURLOPT_POSTFIELDS, request_.body.data());
  }
  // GET and POST are curl's own; any other method keeps its name (a redirect too).
  if (method != "GET" && method != "POST") set(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "GET" && !request_.body.empty()) set(easy_, CURLOPT_CUSTOMREQUEST, "GET");
}

void Transfer::set_progress() {
  if (send_watch_) send_cell_ = send_watch_->watch_own_cell();
  if (receive_watch_) receive_cell_ = receive_watch_->watch_own_cell();
  if (send_cell_ == nullptr && receive_cell_ == nullptr) return;
  set(easy_, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
  set(easy_, CURLOPT_XFERINFODATA, static_cast<void*>(this));
  set(easy_, CURLOPT_NOPROGRESS, 0L);
}

std::size_t Transfer::on_body(char* data, std::size_t size, std::size_t count, void* self) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  if (transfer.stop_requested) return 0;  // curl stops the transfer
  const std::size_t bytes = size * count;
  std::string& body = transfer.response_.body;
  const std::size_t limit = transfer.request_.max_body_bytes;
  if (limit != 0 && bytes > limit - std::min(limit, std::max(body.size(), transfer.received_))) {
    transfer.body_too_large_ = true;
    return 0;  // curl stops the transfer: CURLE_WRITE_ERROR
  }
  if (transfer.request_.on_body) {
    transfer.received_ += bytes;
    try {
      transfer.request_.on_body(std::string_view(data, bytes));
    } catch (...) {
      transfer.body_error_ = std::current_exception();
      return 0;  // curl stops the transfer: CURLE_WRITE_ERROR
    }
    return bytes;
  }
  try {
    if (!std::exchange(transfer.body_reserved_, true)) {
      curl_off_t length = -1;
      if (curl_easy_getinfo(transfer.easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length > 0) {
        const std::size_t expected =
            limit != 0 ? std::min(static_cast<std::size_t>(length), limit) : static_cast<std::size_t>(length);
        body.reserve(expected);
        // A large body: huge pages and one populating call, not a fault per 4 KiB as it arrives.
        isolate::detail::prepare_fresh_memory(body.data(), expected);
      }
    }
    body.append(data, bytes);
  } catch (...) {
    return 0;  // out of memory: the transfer fails
  }
  return bytes;
}

std::size_t Transfer::on_header(char* data, std::size_t size, std::size_t count, void* self) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  if (transfer.stop_requested) return 0;
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  try {
    if (line.starts_with("HTTP/")) {
      transfer.response_.headers.clear();  // a new response: a redirect's or an interim one's are gone
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      transfer.response_.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
  } catch (...) {
    return 0;
  }
  return bytes;
}

int Transfer::on_progress(void* self, curl_off_t down_total, curl_off_t down_now, curl_off_t up_total,
                          curl_off_t up_now) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  if (transfer.send_cell_ != nullptr) transfer.send_cell_->store(as_count(up_now), as_count(up_total));
  if (transfer.receive_cell_ != nullptr) transfer.receive_cell_->store(as_count(down_now), as_count(down_total));
  return transfer.stop_requested ? 1 : 0;  // non-zero: curl aborts the transfer
}

void Transfer::forbid_reuse() noexcept { curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L); }

void Transfer::finish(CURLcode code) noexcept {
  try {
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
      response_.status = static_cast<int>(status);
      result_->set_value(std::move(response_));
      return;
    }
    if (body_error_) {
      // Hand the exception over rather than share it: the caller then holds its only reference,
      // so it is never freed on this thread while the caller reads it.
      result_->set_exception(std::exchange(body_error_, nullptr));
      return;
    }
    std::string what;
    if (body_too_large_ || code == CURLE_FILESIZE_EXCEEDED) {
      what = "the response body is larger than max_body_bytes (" + std::to_string(request_.max_body_bytes) + ")";
    } else {
      what = curl_easy_strerror(code);
      if (error_[0] != '\0') what += std::string(": ") + error_.data();
    }
    result_->set_exception(
        std::make_exception_ptr(HttpError(what + " (" + request_.method + " " + request_.url + ")")));
  } catch (...) {
    result_->set_exception(std::current_exception());
  }
}

}  // namespace isolate::http::detail
