// Integration tests of FileInput: the worker reads a run's input from an fd itself (a regular
// file mapped, a pipe read to its end), bounded by max_bytes and killable mid-read. Real worker
// processes (this binary re-executed); the thread backend's reading is checked beside them.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;

/// An fd open for reading, closed with the object.
class OpenFd {
 public:
  explicit OpenFd(int fd) : fd_(fd) {}
  explicit OpenFd(const std::filesystem::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~OpenFd() { close(); }
  OpenFd(const OpenFd&) = delete;
  OpenFd& operator=(const OpenFd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

/// A pipe: read end and write end, both close-on-exec.
struct Pipe {
  Pipe() : Pipe(make()) {}
  OpenFd read_end;
  OpenFd write_end;

 private:
  static std::array<int, 2> make() {
    std::array<int, 2> fds{-1, -1};
    EXPECT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
    return fds;
  }
  explicit Pipe(std::array<int, 2> fds) : read_end(fds[0]), write_end(fds[1]) {}
};

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// The MiB of file pages this process maps (RssFile of /proc/self/status).
std::int64_t mapped_file_mib() { return std::stoll("0" + proc_status_field("/proc/self/status", "RssFile")) >> 10; }

/// Touches nothing of its input; waits (at most 20 s) until the worker maps at least as many MiB
/// of file pages as its input has, and returns how many it maps then.
Job<std::string_view, std::int64_t> wait_for_mapped_input(
    "test.file-input.wait-mapped", [](const std::string_view& in) {
      const auto wanted = static_cast<std::int64_t>(in.size() >> 20);
      std::int64_t mapped = mapped_file_mib();
      for (const auto deadline = std::chrono::steady_clock::now() + 20s;
           mapped < wanted && std::chrono::steady_clock::now() < deadline; mapped = mapped_file_mib()) {
        std::this_thread::sleep_for(10ms);
      }
      return mapped;
    });

/// Its input's size, read from nothing but the view.
Job<std::string_view, std::uint64_t> view_size("test.file-input.view-size",
                                               [](const std::string_view& in) { return std::uint64_t{in.size()}; });

std::string pattern_of(std::size_t n) {
  std::string bytes(n, '\0');
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>('a' + i % 26);
  return bytes;
}

/// Both backends where the process backend is built; the thread backend alone otherwise.
class FileInputOn : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::process && !detail::process_backend_available()) {
      GTEST_SKIP() << "built without the process backend";
    }
  }
  [[nodiscard]] RunOptions options() const { return {.backend = GetParam()}; }
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Backends, FileInputOn, ::testing::Values(Backend::process, Backend::thread),
                         [](const auto& param_info) {
                           return param_info.param == Backend::process ? "process" : "thread";
                         });

TEST_P(FileInputOn, AViewJobReadsAWholeRegularFile) {
  write_file(dir_ / "in", "hello, world");
  OpenFd fd(dir_ / "in");
  EXPECT_EQ(CancellableIsolate::run(view_reverse, FileInput{fd.get()}, {}, options()).get(), "dlrow ,olleh");
}

TEST_P(FileInputOn, ReadingStartsAtTheFdsOffset) {
  const auto bytes = pattern_of(10000);  // the offset falls inside the file's third page
  write_file(dir_ / "in", bytes);
  OpenFd fd(dir_ / "in");
  ASSERT_EQ(::lseek(fd.get(), 9000, SEEK_SET), 9000);
  EXPECT_EQ(CancellableIsolate::run(echo, FileInput{fd.get()}, {}, options()).get(), bytes.substr(9000));
}

TEST_P(FileInputOn, OwnedInputJobsTakeAFileToo) {
  const auto bytes = pattern_of(100000);
  write_file(dir_ / "in", bytes);
  OpenFd fd(dir_ / "in");
  EXPECT_EQ(CancellableIsolate::run(echo, FileInput{fd.get()}, {}, options()).get(), bytes);
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  const auto echoed = CancellableIsolate::run(echo_bytes, FileInput{fd.get()}, {}, options()).get();
  EXPECT_EQ(std::string(echoed.begin(), echoed.end()), bytes);
}

TEST_P(FileInputOn, AnEmptyFileIsAnEmptyInput) {
  write_file(dir_ / "in", "");
  OpenFd fd(dir_ / "in");
  EXPECT_EQ(CancellableIsolate::run(view_reverse, FileInput{fd.get()}, {}, options()).get(), "");
}

TEST_P(FileInputOn, APipeIsReadToItsEnd) {
  Pipe pipe;
  ASSERT_GE(pipe.read_end.get(), 0);
  const auto bytes = pattern_of(std::size_t{10} << 20);  // many times the pipe's buffer
  auto future = CancellableIsolate::run(span_sum, FileInput{pipe.read_end.get()}, {}, options());
  pipe.read_end.close();  // run() holds its own
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const auto n =
          ::write(pipe.write_end.get(), bytes.data() + done, std::min<std::size_t>(bytes.size() - done, 100000));
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    pipe.write_end.close();
  });
  const auto expected = std::accumulate(bytes.begin(), bytes.end(), std::uint64_t{0},
                                        [](std::uint64_t sum, char c) { return sum + static_cast<std::uint8_t>(c); });
  EXPECT_EQ(future.get(), expected);
  writer.join();
}

TEST_P(FileInputOn, AFileLargerThanMaxBytesIsAnInputError) {
  write_file(dir_ / "in", pattern_of(1000));
  OpenFd fd(dir_ / "in");
  EXPECT_EQ(CancellableIsolate::run(echo, FileInput{fd.get(), 1000}, {}, options()).get().size(), 1000u);
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  auto over = CancellableIsolate::run(echo, FileInput{fd.get(), 999}, {}, options());
  try {
    (void)over.get();
    FAIL() << "a 1000-byte file passed max_bytes 999";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than its limit (999 bytes)"), std::string::npos) << e.what();
  }
}

TEST_P(FileInputOn, AnEndlessStreamStopsAtMaxBytes) {
  OpenFd zero(std::filesystem::path("/dev/zero"));
  ASSERT_GE(zero.get(), 0);
  auto future = CancellableIsolate::run(view_reverse, FileInput{zero.get(), std::uint64_t{3} << 20}, {}, options());
  EXPECT_THROW((void)future.get(), InputError);
}

TEST_P(FileInputOn, AnFdThatIsNotOpenIsAnInputError) {
  EXPECT_THROW((void)CancellableIsolate::run(echo, FileInput{-1}, {}, options()).get(), InputError);
  constexpr int kNeverOpen = 1 << 24;  // above any fd limit (a closed small number could be reused at once)
  EXPECT_THROW((void)CancellableIsolate::run(echo, FileInput{kNeverOpen}, {}, options()).get(), InputError);
}

TEST_P(FileInputOn, ADirectoryIsAnInputErrorThatSaysSo) {
  OpenFd fd(dir_.path());
  ASSERT_GE(fd.get(), 0);
  try {
    (void)CancellableIsolate::run(echo, FileInput{fd.get()}, {}, options()).get();
    FAIL() << "a directory was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

TEST_P(FileInputOn, ACancelEndsARunWhoseInputNeverComes) {
  Pipe pipe;  // the write end stays open and silent: a read would wait for ever
  CancellationToken token;
  auto future = CancellableIsolate::run(view_reverse, FileInput{pipe.read_end.get()}, token, options());
  if (GetParam() == Backend::process) {
    ASSERT_TRUE(eventually([] { return !child_pids().empty(); }, 20s)) << "the worker never started";
  }
  token.cancel("gave up");
  EXPECT_THROW((void)future.get(), CancelledException);
  EXPECT_EQ(live_below_new_children({}), std::vector<pid_t>{}) << "the reading worker outlived its cancel";
  EXPECT_TRUE(eventually([] { return child_pids().empty(); }, 10s)) << "the reading worker's relay was never reaped";
}

TEST_P(FileInputOn, NoFdOfTheInputIsLeftOpenAfterTheRun) {
  write_file(dir_ / "in", "abc");
  OpenFd fd(dir_ / "in");
  // A first run starts the library's threads (the supervisor holds fds of its own).
  EXPECT_EQ(CancellableIsolate::run(view_reverse, FileInput{fd.get()}, {}, options()).get(), "cba");
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  const auto fds_of_the_input = [&] {
    const auto fds = open_fds(::getpid());
    return std::count_if(fds.begin(), fds.end(), [&](const auto& entry) { return entry.second == dir_ / "in"; });
  };
  ASSERT_TRUE(eventually([&] { return fds_of_the_input() == 1; }, 10s)) << "the first run's copy stays open";
  const auto before = open_fds(::getpid());
  EXPECT_EQ(CancellableIsolate::run(view_reverse, FileInput{fd.get()}, {}, options()).get(), "cba");
  // The thread backend's executor thread closes its duplicate just after the future is ready;
  // the first run's fds may still be closing while `before` is read.
  EXPECT_TRUE(eventually([&] { return fds_opened_since(before).empty(); }, 10s))
      << "left open: " << ::testing::PrintToString(fds_opened_since(before));
}

class FileInputProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
  TempDir dir_;
};

TEST_F(FileInputProcess, AMappedFileIsFollowedByZeroPaddingEvenWhenItFillsItsLastPage) {
  for (const std::size_t size : {std::size_t{5}, std::size_t{4096}, std::size_t{3 * 4096 - 10}}) {
    write_file(dir_ / "in", pattern_of(size));
    OpenFd fd(dir_ / "in");
    const auto padding =
        CancellableIsolate::run(view_padding, FileInput{fd.get()}, {}, {.backend = Backend::process}).get();
    EXPECT_GE(padding.size(), 64u) << size;
    EXPECT_EQ(padding, std::string(padding.size(), '\0')) << size;
  }
}

// A large file's pages are faulted in by a thread of the worker's, while the job starts: they
// are mapped without the job touching them, and its bytes and padding are the file's and zeros.
TEST_F(FileInputProcess, ALargeFilesPagesAreMappedWithoutTheJobTouchingThem) {
  const std::size_t size = std::size_t{64} << 20;
  write_file(dir_ / "in", pattern_of(size));
  OpenFd fd(dir_ / "in");
  const RunOptions process{.backend = Backend::process};
  EXPECT_GE(CancellableIsolate::run(wait_for_mapped_input, FileInput{fd.get()}, {}, process).get(), 64)
      << "MiB of file pages the worker mapped";
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < size; ++i) expected += static_cast<std::uint64_t>('a' + i % 26);
  EXPECT_EQ(CancellableIsolate::run(span_sum, FileInput{fd.get()}, {}, process).get(), expected);
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  const auto padding = CancellableIsolate::run(view_padding, FileInput{fd.get()}, {}, process).get();
  EXPECT_GE(padding.size(), 64u);
  EXPECT_EQ(padding, std::string(padding.size(), '\0'));
}

// The thread that faults a large file in is stopped and joined when the job ends, also when
// the job ends long before that thread would be done (256 MiB, read from disk if it is not in
// the page cache): the run ends with the job's result.
TEST_F(FileInputProcess, AJobThatEndsAtOnceOnALargeFileEndsItsRunWithItsResult) {
  write_file(dir_ / "in", pattern_of(std::size_t{256} << 20));
  OpenFd fd(dir_ / "in");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
    EXPECT_EQ(CancellableIsolate::run(view_size, FileInput{fd.get()}, {}, {.backend = Backend::process}).get(),
              std::uint64_t{256} << 20);
  }
}

TEST_F(FileInputProcess, AStreamIsFollowedByZeroPadding) {
  Pipe pipe;
  ASSERT_EQ(::write(pipe.write_end.get(), "xyz", 3), 3);
  pipe.write_end.close();
  const auto padding =
      CancellableIsolate::run(view_padding, FileInput{pipe.read_end.get()}, {}, {.backend = Backend::process}).get();
  EXPECT_GE(padding.size(), 64u);
  EXPECT_EQ(padding, std::string(padding.size(), '\0'));
}

TEST_F(FileInputProcess, TheWorkerClosesTheInputFdOnceItHasReadIt) {
  write_file(dir_ / "in", "");
  OpenFd fd(dir_ / "in");
  const auto report =
      CancellableIsolate::run(process_report, FileInput{fd.get()}, {}, {.backend = Backend::process}).get();
  EXPECT_EQ(report.at("fds"), nlohmann::json::array({0, 1, 2, 3})) << report.dump();
}

}  // namespace
}  // namespace isolate::test
