// download.cpp — download(): isolate::http::Client writing the body chunk by chunk into a memfd.
#include "download.hpp"

#include <sys/mman.h>
#include <unistd.h>
#include <isolate/http.hpp>

#include <cerrno>
#include <system_error>

namespace isolate::cli {
namespace {

/// Writes all of `bytes` to `fd`.
void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "cannot store the download");
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

/// Closes an fd unless released.
class FdOwner {
 public:
  explicit FdOwner(int fd) noexcept : fd_(fd) {}
  ~FdOwner() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdOwner(const FdOwner&) = delete;
  FdOwner& operator=(const FdOwner&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

bool is_url(std::string_view text) noexcept { return text.starts_with("http://") || text.starts_with("https://"); }

int download(const std::string& url, const CancellationToken& token, std::uint64_t max_bytes,
             ProgressCallback on_progress) {
  FdOwner memfd(::memfd_create("isolate-run-download", MFD_CLOEXEC));
  if (memfd.get() < 0) throw std::system_error(errno, std::generic_category(), "cannot make a memfd");
  http::Client client;
  const int fd = memfd.get();
  http::Request request{.url = url,
                        .max_body_bytes = static_cast<std::size_t>(max_bytes),
                        .on_receive_progress = std::move(on_progress),
                        .on_body = [fd](std::string_view chunk) { write_all(fd, chunk); }};
  const http::Response response = client.send(std::move(request), token).get();
  if (response.status != 200)
    throw DownloadStatusError("the server answered with status " + std::to_string(response.status));
  if (::lseek(fd, 0, SEEK_SET) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot rewind the download");
  return memfd.release();
}

}  // namespace isolate::cli
