// nginx_server.hpp — Debian's nginx serving a directory on 127.0.0.1, over HTTP (gzip on, keep-
// alive; under /plain/ never compressed, under /slow/ uncompressed at 2 MB/s) and over HTTPS with a self-signed
// certificate made for it, for the HTTP client's tests and the fetch example's. Started as a child of this process
// (dies with it), stopped and reaped on destruction.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "process_helpers.hpp"

namespace isolate::test {

class NginxServer {
 public:
  /// Serves `root`. Throws std::runtime_error, saying why, if nginx or openssl is missing
  /// (./scripts/install-deps.sh installs them) or nginx does not come up.
  explicit NginxServer(std::filesystem::path root);
  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  /// "http://127.0.0.1:PORT" + path.
  [[nodiscard]] std::string url(const std::string& path) const;
  /// "https://127.0.0.1:PORT" + path (a certificate no CA signed).
  [[nodiscard]] std::string https_url(const std::string& path) const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// The server's certificate (PEM): trusted as a CA, it makes its HTTPS verifiable.
  [[nodiscard]] std::string certificate_file() const { return (dir_ / "cert.pem").string(); }

 private:
  TempDir dir_;
  std::filesystem::path root_;
  unsigned short http_port_ = 0, https_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace isolate::test
