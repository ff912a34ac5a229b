// Tests of isolate::detail::prepare_fresh_memory: it faults in the whole pages of a large range
// (checked with mincore; both halves of one large enough for two threads), leaves the contents
// and the pages around the range alone, and is a harmless no-op for small, empty or null ranges.
#include <isolate/detail/fresh_memory.hpp>

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

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

}  // namespace
