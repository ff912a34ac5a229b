// isolate::http::Client against Debian's nginx on 127.0.0.1: gzip bodies decoded, a large body
// whole, a status as a Response, and a self-signed certificate refused.
#include <gtest/gtest.h>
#include <isolate/http.hpp>

#include <fstream>
#include <string>

#include "nginx_server.hpp"
#include "process_helpers.hpp"

namespace isolate::test {
namespace {

using http::Client;
using http::HttpError;

class HttpFromNginx : public ::testing::Test {
 protected:
  void SetUp() override {
    json_ = "[";
    for (int i = 0; i < 20000; ++i) json_ += R"({"id": )" + std::to_string(i) + R"(, "name": "item"},)";
    json_ += "null]";
    std::ofstream(root_ / "doc.json") << json_;
    large_.resize(32 << 20);
    for (std::size_t i = 0; i < large_.size(); ++i) large_[i] = static_cast<char>('a' + (i * 7919) % 26);
    std::ofstream(root_ / "large.bin", std::ios::binary) << large_;
    server_ = std::make_unique<NginxServer>(root_.path());
  }

  TempDir root_;
  std::string json_, large_;
  std::unique_ptr<NginxServer> server_;
  Client client_;
};

TEST_F(HttpFromNginx, AGzipBodyArrivesDecoded) {
  const auto response = client_.get(server_->url("/doc.json")).get();
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Encoding"), "gzip");
  EXPECT_EQ(response.body, json_);
}

TEST_F(HttpFromNginx, ALargeBodyArrivesWhole) {
  const auto response = client_.get(server_->url("/large.bin")).get();
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Length"), std::to_string(large_.size()));
  EXPECT_TRUE(response.body == large_) << "the body differs (" << response.body.size() << " bytes)";
}

TEST_F(HttpFromNginx, AMissingFileIsA404Response) {
  EXPECT_EQ(client_.get(server_->url("/missing.json")).get().status, 404);
}

TEST_F(HttpFromNginx, ASelfSignedCertificateIsAnHttpError) {
  auto future = client_.get(server_->https_url("/doc.json"));
  try {
    (void)future.get();
    FAIL() << "a certificate no CA signed was accepted";
  } catch (const HttpError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("certificate"), std::string::npos) << what;
    EXPECT_NE(what.find(server_->https_url("/doc.json")), std::string::npos) << what;
  }
}

TEST_F(HttpFromNginx, HttpsWithTheServersCertificateTrustedArrivesWhole) {
  Client trusting({.ca_file = server_->certificate_file()});
  const auto response = trusting.get(server_->https_url("/large.bin")).get();
  ASSERT_EQ(response.status, 200);
  EXPECT_TRUE(response.body == large_) << "the body differs (" << response.body.size() << " bytes)";
}

TEST(HttpClientOptions, AMissingCaFileIsInvalidArgument) {
  EXPECT_THROW(Client({.ca_file = "/nonexistent/ca.pem"}), std::invalid_argument);
}

}  // namespace
}  // namespace isolate::test
