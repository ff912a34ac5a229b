// examples/fetch_and_parse.cpp against nginx: the document fetched and parsed in a pool worker
// under one token, and a second fetch cancelled mid-download (served at 2 MB/s, so the user
// leaves long before it could end). The program leaves no process behind.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "nginx_server.hpp"
#include "process_helpers.hpp"

namespace isolate::test {
namespace {

#ifdef ISOLATE_FETCH_AND_PARSE
TEST(FetchAndParseExample, FetchesParsesInAWorkerAndCancelsASecondFetchMidway) {
  TempDir root;
  std::string document = "[";
  for (int i = 0; i < 100000; ++i) document += R"({"id": )" + std::to_string(i) + R"(, "tag": "x"},)";
  document += "null]";  // 100,001 items, about 2.4 MB: over a second at 2 MB/s
  std::ofstream(root / "doc.json") << document;
  NginxServer server(root.path());
  const auto run =
      run_program_in_group({ISOLATE_FETCH_AND_PARSE, server.url("/slow/doc.json")}, std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.out << run.err;
  EXPECT_EQ(run.status, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("fetched " + std::to_string(document.size()) +
                         R"( bytes, parsed in a worker: {"size":100001,"type":"array"})"),
            std::string::npos)
      << run.out << run.err;
  EXPECT_NE(run.out.find("second fetch cancelled: the user left"), std::string::npos) << run.out << run.err;
  EXPECT_FALSE(run.group_left_behind);
}
#endif

}  // namespace
}  // namespace isolate::test
