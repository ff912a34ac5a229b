// Tests of isolate::detail::SharedMemory (memfd segments). No processes: "the other side" is a
// second mapping of a dup'ed fd, which is exactly what a worker that inherited the fd sees.
#include <isolate/errors.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <utility>

#include "posix/shared_memory.hpp"

namespace {

using isolate::IsolateError;
using isolate::detail::SharedMemory;
using ::testing::HasSubstr;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool has_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

std::string link_of(int fd) { return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd)).string(); }

std::set<std::string> dev_shm_entries() {
  std::set<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", error)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

void fill(SharedMemory& segment, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    segment.data()[i] = static_cast<std::byte>(i * 7 + 1);
  }
}

bool holds_pattern(const std::byte* data, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    if (data[i] != static_cast<std::byte>(i * 7 + 1)) {
      return false;
    }
  }
  return true;
}

TEST(SharedMemory, CreateGivesZeroFilledWritableSegmentOfTheRequestedSize) {
  auto segment = SharedMemory::create(10000);
  ASSERT_NE(segment.data(), nullptr);
  EXPECT_EQ(segment.size(), 10000U);
  EXPECT_TRUE(
      std::all_of(segment.data(), segment.data() + segment.size(), [](std::byte b) { return b == std::byte{0}; }));
  fill(segment, 0, segment.size());
  EXPECT_TRUE(holds_pattern(segment.data(), 0, segment.size()));

  struct stat info {};
  ASSERT_EQ(::fstat(segment.fd(), &info), 0);
  EXPECT_EQ(info.st_size, 10000);
}

TEST(SharedMemory, FdIsAMemfdWithCloseOnExec) {
  auto segment = SharedMemory::create(64);
  ASSERT_GE(segment.fd(), 0);
  EXPECT_TRUE(has_cloexec(segment.fd()));
  EXPECT_THAT(link_of(segment.fd()), HasSubstr("memfd:"));
}

TEST(SharedMemory, NothingAppearsInDevShm) {
  const auto before = dev_shm_entries();
  {
    auto a = SharedMemory::create(1 << 20);
    auto b = SharedMemory::create(0);
    a.resize(2 << 20);
    EXPECT_EQ(dev_shm_entries(), before);
  }
  EXPECT_EQ(dev_shm_entries(), before);
}

TEST(SharedMemory, AdoptedDupSeesTheSameBytesBothWays) {
  auto parent = SharedMemory::create(4096);
  fill(parent, 0, 4096);

  const int inherited = ::dup(parent.fd());  // like an inherited fd: no FD_CLOEXEC
  ASSERT_GE(inherited, 0);
  ASSERT_FALSE(has_cloexec(inherited));
  auto worker = SharedMemory::adopt(inherited);
  EXPECT_EQ(worker.fd(), inherited);
  EXPECT_TRUE(has_cloexec(inherited)) << "adopt must keep the fd out of the worker's children";
  ASSERT_EQ(worker.size(), 4096U);
  EXPECT_NE(worker.data(), parent.data());
  EXPECT_TRUE(holds_pattern(worker.data(), 0, 4096));

  worker.data()[100] = std::byte{0xAB};
  EXPECT_EQ(parent.data()[100], std::byte{0xAB});
}

TEST(SharedMemory, ResizeGrowingKeepsContentsAndZeroFillsTheRest) {
  auto segment = SharedMemory::create(5000);
  fill(segment, 0, 5000);
  segment.resize(3 * 4096 + 17);
  ASSERT_EQ(segment.size(), 3U * 4096U + 17U);
  EXPECT_TRUE(holds_pattern(segment.data(), 0, 5000));
  EXPECT_TRUE(std::all_of(segment.data() + 5000, segment.data() + segment.size(),
                          [](std::byte b) { return b == std::byte{0}; }));
  fill(segment, 5000, segment.size());  // the whole new range is backed (no SIGBUS)
  EXPECT_TRUE(holds_pattern(segment.data(), 0, segment.size()));
}

TEST(SharedMemory, ResizeShrinkingKeepsThePrefix) {
  auto segment = SharedMemory::create(20000);
  fill(segment, 0, 20000);
  segment.resize(3000);
  ASSERT_EQ(segment.size(), 3000U);
  EXPECT_TRUE(holds_pattern(segment.data(), 0, 3000));
  struct stat info {};
  ASSERT_EQ(::fstat(segment.fd(), &info), 0);
  EXPECT_EQ(info.st_size, 3000);
}

TEST(SharedMemory, AdoptAfterResizeMapsTheNewSize) {
  auto segment = SharedMemory::create(100);
  segment.resize(70000);
  segment.data()[69999] = std::byte{42};
  auto other = SharedMemory::adopt(::dup(segment.fd()));
  ASSERT_EQ(other.size(), 70000U);
  EXPECT_EQ(other.data()[69999], std::byte{42});
}

TEST(SharedMemory, SixtyFourMebibytesAndBeyond) {
  constexpr std::size_t kSize = 64U << 20;
  auto segment = SharedMemory::create(kSize);
  ASSERT_EQ(segment.size(), kSize);
  segment.data()[0] = std::byte{1};
  segment.data()[kSize / 2] = std::byte{2};
  segment.data()[kSize - 1] = std::byte{3};
  segment.resize(2 * kSize);
  ASSERT_EQ(segment.size(), 2 * kSize);
  EXPECT_EQ(segment.data()[0], std::byte{1});
  EXPECT_EQ(segment.data()[kSize / 2], std::byte{2});
  EXPECT_EQ(segment.data()[kSize - 1], std::byte{3});
  segment.data()[2 * kSize - 1] = std::byte{4};

  auto other = SharedMemory::adopt(::dup(segment.fd()));
  ASSERT_EQ(other.size(), 2 * kSize);
  EXPECT_EQ(other.data()[2 * kSize - 1], std::byte{4});
}

TEST(SharedMemory, SizeZeroMapsNothingAndCanGrowAndShrinkAgain) {
  auto segment = SharedMemory::create(0);
  EXPECT_GE(segment.fd(), 0);
  EXPECT_EQ(segment.size(), 0U);
  EXPECT_EQ(segment.data(), nullptr);

  auto adopted_empty = SharedMemory::adopt(::dup(segment.fd()));
  EXPECT_EQ(adopted_empty.size(), 0U);
  EXPECT_EQ(adopted_empty.data(), nullptr);

  segment.resize(128);
  ASSERT_NE(segment.data(), nullptr);
  segment.data()[127] = std::byte{9};
  segment.resize(0);
  EXPECT_EQ(segment.size(), 0U);
  EXPECT_EQ(segment.data(), nullptr);
  segment.resize(256);
  EXPECT_EQ(segment.data()[127], std::byte{0}) << "shrinking to 0 drops the contents";
}

TEST(SharedMemory, MoveTransfersOwnershipAndLeavesAnEmptySource) {
  auto a = SharedMemory::create(4096);
  a.data()[0] = std::byte{5};
  const int fd = a.fd();
  const std::byte* data = a.data();

  SharedMemory b(std::move(a));
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.size(), 4096U);
  EXPECT_EQ(a.fd(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0U);

  auto c = SharedMemory::create(10);
  const int c_fd = c.fd();
  c = std::move(b);
  EXPECT_FALSE(is_open(c_fd)) << "assignment releases the old segment";
  EXPECT_EQ(c.fd(), fd);
  EXPECT_EQ(c.data()[0], std::byte{5});

  c = std::move(c);  // self-move keeps the segment  NOLINT
  EXPECT_EQ(c.fd(), fd);

  SharedMemory empty;
  EXPECT_EQ(empty.fd(), -1);
  EXPECT_THROW(empty.resize(10), IsolateError);
}

TEST(SharedMemory, DestructorClosesTheFd) {
  int fd = -1;
  {
    auto segment = SharedMemory::create(100);
    fd = segment.fd();
    EXPECT_TRUE(is_open(fd));
  }
  EXPECT_FALSE(is_open(fd));
}

TEST(SharedMemory, AdoptOfABadFdThrowsIsolateErrorNamingTheFdAndErrno) {
  try {
    (void)SharedMemory::adopt(-1);
    FAIL() << "adopt(-1) did not throw";
  } catch (const IsolateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("fd -1"));
    EXPECT_THAT(e.what(), HasSubstr("Bad file descriptor"));
  }

  const int closed = ::dup(0);
  ASSERT_GE(closed, 0);
  ::close(closed);
  try {
    (void)SharedMemory::adopt(closed);
    FAIL() << "adopt(closed fd) did not throw";
  } catch (const IsolateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Bad file descriptor"));
  }
}

TEST(SharedMemory, AdoptOfANonFileThrowsAndClosesIt) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  try {
    (void)SharedMemory::adopt(fds[0]);
    FAIL() << "adopt(pipe) did not throw";
  } catch (const IsolateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a memfd or regular file"));
  }
  EXPECT_FALSE(is_open(fds[0])) << "adopt took ownership";
  ::close(fds[1]);
}

TEST(SharedMemory, AdoptOfAReadOnlyFdThrowsAndClosesIt) {
  auto segment = SharedMemory::create(4096);
  const int read_only = ::open(("/proc/self/fd/" + std::to_string(segment.fd())).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(read_only, 0);
  try {
    (void)SharedMemory::adopt(read_only);
    FAIL() << "adopt(read-only fd) did not throw";
  } catch (const IsolateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("mmap"));
    EXPECT_THAT(e.what(), HasSubstr("Permission denied"));
  }
  EXPECT_FALSE(is_open(read_only));
}

TEST(SharedMemory, ImpossibleSizesThrowIsolateErrorAndKeepTheSegment) {
  auto segment = SharedMemory::create(4096);
  segment.data()[10] = std::byte{77};
  EXPECT_THROW(segment.resize(std::size_t{1} << 62), IsolateError);
  EXPECT_THROW(segment.resize(static_cast<std::size_t>(-1)), IsolateError);
  ASSERT_EQ(segment.size(), 4096U);
  EXPECT_EQ(segment.data()[10], std::byte{77});
  struct stat info {};
  ASSERT_EQ(::fstat(segment.fd(), &info), 0);
  EXPECT_EQ(info.st_size, 4096) << "a failed resize restores the file length";
  EXPECT_THROW((void)SharedMemory::create(static_cast<std::size_t>(-1)), IsolateError);
}

// A worker adopts its channel while the parent may be growing it for a large request: mapping
// the size it saw must never cut the file back (sealed: EPERM; unsealed: SIGBUS for the parent).
TEST(SharedMemory, RemappingNeverCutsAFileAnotherHolderMadeLonger) {
  auto parent = SharedMemory::create(4096);
  parent.forbid_shrinking();
  auto worker = SharedMemory::adopt(::dup(parent.fd()));
  parent.resize(8192);
  EXPECT_NO_THROW(worker.resize(4096));  // the size it knew: only mapped again
  EXPECT_EQ(worker.size(), 4096u);
  struct stat info {};
  ASSERT_EQ(::fstat(parent.fd(), &info), 0);
  EXPECT_EQ(info.st_size, 8192);
  parent.data()[8191] = std::byte{7};  // still backed
  EXPECT_EQ(parent.data()[8191], std::byte{7});
}

TEST(SharedMemory, ForbidShrinkingStopsEveryHolderFromTruncatingButNotFromGrowing) {
  auto segment = SharedMemory::create(8192);
  segment.forbid_shrinking();
  EXPECT_THROW(segment.resize(4096), IsolateError);
  EXPECT_EQ(segment.size(), 8192U);
  const int other = ::dup(segment.fd());  // what a worker holds
  ASSERT_GE(other, 0);
  errno = 0;
  EXPECT_EQ(::ftruncate(other, 0), -1);
  EXPECT_EQ(errno, EPERM);
  ::close(other);
  segment.resize(16384);
  EXPECT_EQ(segment.size(), 16384U);
  segment.data()[16000] = std::byte{1};
  EXPECT_THROW(SharedMemory().forbid_shrinking(), IsolateError);
}

}  // namespace
