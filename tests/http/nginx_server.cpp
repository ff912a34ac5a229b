// nginx_server.cpp — NginxServer: a configuration in a temporary directory, a certificate from
// openssl, nginx in the foreground without a master process.
#include "nginx_server.hpp"

#include "free_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace isolate::test {
namespace {

/// True once something accepts connections on 127.0.0.1:`port`.
bool accepts(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

/// Runs `command` through the shell; throws with `what` if it fails.
void shell(const std::string& command, const std::string& what) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error(what + " (" + command + ")");
}

}  // namespace

NginxServer::NginxServer(std::filesystem::path root) : root_(std::move(root)) {
  if (!std::filesystem::exists("/usr/sbin/nginx")) {
    throw std::runtime_error("nginx is not installed: ./scripts/install-deps.sh installs nginx-light");
  }
  const auto dir = dir_.path().string();
  shell(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
          dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1",
      "openssl could not make a certificate: ./scripts/install-deps.sh installs openssl");
  http_port_ = free_port();
  https_port_ = free_port();
  std::ofstream(dir_ / "nginx.conf")
      << "pid " << dir << "/nginx.pid;\nerror_log " << dir << "/error.log;\n"
      << "events { worker_connections 512; }\n"
      << "http {\n  access_log off;\n"
      << "  client_body_temp_path " << dir << "/body; proxy_temp_path " << dir << "/proxy;\n"
      << "  fastcgi_temp_path " << dir << "/fastcgi; uwsgi_temp_path " << dir << "/uwsgi; scgi_temp_path " << dir
      << "/scgi;\n"
      << "  types { application/json json; text/plain txt; }\n  default_type application/octet-stream;\n"
      << "  sendfile on; keepalive_requests 10000;\n"
      << "  gzip on; gzip_types application/json text/plain; gzip_min_length 1;\n"
      << "  server { listen 127.0.0.1:" << http_port_ << "; root " << root_.string() << ";\n"
      << "    location /slow/ { alias " << root_.string() << "/; gzip off; limit_rate 2m; }\n"
      << "    location /plain/ { alias " << root_.string() << "/; gzip off; } }\n"
      << "  server { listen 127.0.0.1:" << https_port_ << " ssl; root " << root_.string() << ";\n"
      << "    ssl_certificate " << dir << "/cert.pem; ssl_certificate_key " << dir << "/key.pem; }\n"
      << "}\n";
  const std::string conf = (dir_ / "nginx.conf").string();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const char* argv[] = {
        "/usr/sbin/nginx", "-p", dir.c_str(), "-c", conf.c_str(), "-g", "daemon off; master_process off;", nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  if (!eventually([&] { return accepts(http_port_) && accepts(https_port_); }, std::chrono::seconds(20))) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    const std::string log = read_file(dir_ / "error.log");
    throw std::runtime_error("nginx did not come up: " + log.substr(0, 2000));
  }
}

NginxServer::~NginxServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

std::string NginxServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}

std::string NginxServer::https_url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(https_port_) + path;
}

}  // namespace isolate::test
