// Unit tests of InputFd::read_all, the thread backend's read of a FileInput: a regular file is
// read into one buffer of its size, a stream to its end in growing large reads.
#include <isolate/detail/input_fd.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stop_token>
#include <string>
#include <thread>

namespace {

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

/// `size` bytes that differ from one position to the next (a misplaced chunk shows).
std::string patterned(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  return bytes;
}

/// Writes all of `bytes` to `fd`.
void write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<std::size_t>(n);
  }
}

TEST(InputFd, ARegularFileIsReadIntoOneBufferOfItsSizeNotADoubledCopy) {
  const std::string content = patterned((std::size_t{5} << 20) + 123);  // past the first 1 MiB buffer
  const int fd = ::memfd_create("input-fd-test", MFD_CLOEXEC);          // a regular file
  ASSERT_GE(fd, 0);
  write_all(fd, content);
  ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  isolate::detail::InputFd input(fd);
  ::close(fd);
  const std::string bytes = input.read_all(kNoLimit, std::stop_token());
  EXPECT_EQ(bytes, content);
  // The read that finds the end must not grow the buffer: that would copy every byte read and
  // hold three times the file's size at once.
  EXPECT_LE(bytes.capacity(), content.size() + 4096) << "the buffer grew to " << bytes.capacity();
}

TEST(InputFd, APipeLongerThanItsFirstBufferIsReadToItsEnd) {
  const std::string content = patterned((std::size_t{3} << 20) + 77);
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  std::thread writer([&] {
    write_all(ends[1], content);
    ::close(ends[1]);
  });
  isolate::detail::InputFd input(ends[0]);
  ::close(ends[0]);
  const std::string bytes = input.read_all(kNoLimit, std::stop_token());
  writer.join();
  EXPECT_EQ(bytes, content);
}

}  // namespace
