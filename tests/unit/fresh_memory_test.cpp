// Tests of isolate::detail::prepare_fresh_memory: it faults in the whole pages of a large range
// (checked with mincore; both halves of one large enough for two threads), leaves the contents
// and the pages around the range alone, and is a harmless no-op for small, empty or null ranges.
// And of copy_large: every byte of small and large (two-thread) copies at odd alignments, into
// private and fresh shared memory, and nothing outside the target.
#include <isolate/detail/fresh_memory.hpp>

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using isolate::detail::copy_large;
using isolate::detail::kFreshMemoryThreshold;
using isolate::detail::prepare_fresh_memory;

const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));

/// An anonymous private mapping nobody has touched yet.
struct FreshMapping {
  explicit FreshMapping(std::size_t n) : size(n) {
    data = static_cast<std::byte*>(::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  }
  ~FreshMapping() { ::munmap(data, size); }
  FreshMapping(const FreshMapping&) = delete;
  FreshMapping& operator=(const FreshMapping&) = delete;

  [[nodiscard]] std::vector<bool> resident() const {
    std::vector<unsigned char> pages(size / kPage);
    EXPECT_EQ(::mincore(data, size, pages.data()), 0);
    std::vector<bool> out;
    for (auto p : pages) out.push_back((p & 1) != 0);
    return out;
  }
  std::byte* data;
  std::size_t size;
};

bool kernel_can_populate() {
  FreshMapping probe(kPage);
  return ::madvise(probe.data, kPage, 23 /* MADV_POPULATE_WRITE */) == 0;
}

/// Prepares a range of `pages` pages less 8, from the middle of page 4 to the middle of page
/// pages-4, of an untouched mapping: whole pages 5 .. pages-5 must be resident, no other.
void expect_whole_pages_inside_faulted_in(std::size_t pages) {
  FreshMapping mapping(pages * kPage);
  std::byte* first = mapping.data + 4 * kPage + kPage / 2;
  const std::size_t n = (pages - 8) * kPage;
  prepare_fresh_memory(first, n);
  const auto resident = mapping.resident();
  for (std::size_t i = 0; i < pages; ++i) {
    const bool inside = i >= 5 && i < pages - 4;
    ASSERT_EQ(resident[i], inside) << "page " << i << " of " << pages;
  }
}

TEST(PrepareFreshMemory, FaultsInEveryWholePageOfALargeRangeAndNothingAround) {
  if (!kernel_can_populate()) GTEST_SKIP() << "kernel without MADV_POPULATE_WRITE (Linux < 5.14)";
  expect_whole_pages_inside_faulted_in(kFreshMemoryThreshold / kPage + 16);
}

TEST(PrepareFreshMemory, FaultsInBothHalvesOfARangeLargeEnoughForTwoThreads) {
  if (!kernel_can_populate()) GTEST_SKIP() << "kernel without MADV_POPULATE_WRITE (Linux < 5.14)";
  // From 32 MiB up a second thread takes the upper half: an odd page count puts the split
  // inside neither end's partial page.
  expect_whole_pages_inside_faulted_in((std::size_t{40} << 20) / kPage + 13);
}

TEST(PrepareFreshMemory, KeepsTheContents) {
  std::vector<std::uint8_t> buffer(kFreshMemoryThreshold * 2);
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(i * 31);
  prepare_fresh_memory(buffer.data(), buffer.size());
  for (std::size_t i = 0; i < buffer.size(); i += 4093) ASSERT_EQ(buffer[i], static_cast<std::uint8_t>(i * 31)) << i;
}

TEST(PrepareFreshMemory, SmallEmptyAndNullRangesAreLeftAlone) {
  FreshMapping mapping(64 * kPage);
  prepare_fresh_memory(mapping.data, 64 * kPage);  // below the threshold
  prepare_fresh_memory(mapping.data, 0);
  prepare_fresh_memory(nullptr, kFreshMemoryThreshold * 2);
  for (const bool page : mapping.resident()) EXPECT_FALSE(page);
}

/// A byte pattern with no period a split point or a page could hide behind.
std::uint8_t pattern(std::size_t i) { return static_cast<std::uint8_t>((i * 131) ^ (i >> 9) ^ (i >> 17)); }

/// Copies `n` pattern bytes from offset `from_at` of one buffer to offset `to_at` of `target`
/// (which must hold to_at + n + 64 bytes, set to 0xEE) and checks the copy and the guard bytes
/// around it.
void expect_exact_copy(std::byte* target, std::size_t n, std::size_t from_at, std::size_t to_at) {
  std::vector<std::uint8_t> source(from_at + n);
  for (std::size_t i = 0; i < n; ++i) source[from_at + i] = pattern(i);
  copy_large(target + to_at, source.data() + from_at, n);
  for (std::size_t i = 0; i < to_at; ++i) ASSERT_EQ(target[i], std::byte{0xEE}) << "before, at " << i;
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(std::to_integer<std::uint8_t>(target[to_at + i]), pattern(i)) << i;
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(target[to_at + n + i], std::byte{0xEE}) << "after, at " << i;
}

TEST(CopyLarge, CopiesEveryByteOfSmallAndLargeBuffersAtOddAlignments) {
  // 0 and a few bytes: one memcpy; 33 MiB and more: two threads, split at a huge-page boundary
  // of the target, which an odd offset keeps away from the buffers' own alignment.
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, kFreshMemoryThreshold + 3,
                              (std::size_t{33} << 20) + 17, (std::size_t{64} << 20) + 1}) {
    for (const std::size_t offset : {std::size_t{0}, std::size_t{7}}) {
      std::vector<std::byte> target(offset + n + 64, std::byte{0xEE});
      expect_exact_copy(target.data(), n, 3, offset);
    }
  }
}

TEST(CopyLarge, CopiesIntoFreshSharedMemoryLikeARequestSegment) {
  // What ByteWriter does with a large request: a memfd's pages, populated and then copied into.
  const std::size_t n = (std::size_t{40} << 20) + 5;
  const std::size_t size = n + 4096 + 64;
  const int fd = ::memfd_create("copy-large-test", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(mapped, MAP_FAILED);
  auto* target = static_cast<std::byte*>(mapped);
  std::memset(target, 0xEE, 4096 + 11);  // the guard before; the pages after are set below
  prepare_fresh_memory(target + 4096 + 11, n);
  std::memset(target + 4096 + 11 + n, 0xEE, 64);
  expect_exact_copy(target, n, 1, 4096 + 11);
  ::munmap(mapped, size);
}

}  // namespace
