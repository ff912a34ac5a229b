// isolate-run's progress line: what it says for a report, with and without a rate.
#include <gtest/gtest.h>

#include "progress_bar.hpp"

namespace {

using isolate::cli::ProgressBar;

TEST(ProgressBar, LineShowsTheBarThePercentageAndTheSizes) {
  EXPECT_EQ(ProgressBar::line(0, 100 << 20, 0), "[....................]   0%  0.0 MiB of 100.0 MiB");
  EXPECT_EQ(ProgressBar::line(50 << 20, 100 << 20, 0), "[##########..........]  50%  50.0 MiB of 100.0 MiB");
}

TEST(ProgressBar, LineWithARateSaysHowLongIsLeft) {
  EXPECT_EQ(ProgressBar::line(25'000'000, 100'000'000, 500e6),
            "[#####...............]  25%  23.8 MiB of 95.4 MiB  500 MB/s  0.1 s left");
}

TEST(ProgressBar, LineForAReportPastTheTotalSaysDone) {
  EXPECT_EQ(ProgressBar::line(200, 100, 0), "[####################] 100%  0.0 MiB of 0.0 MiB");
}

TEST(ProgressBar, ClearErasesOnlyADrawnLine) {
  char buffer[512] = {};
  std::FILE* out = fmemopen(buffer, sizeof buffer, "w");
  ASSERT_NE(out, nullptr);
  ProgressBar bar(out);
  bar.clear();         // nothing drawn: nothing written
  bar.update({0, 0});  // unknown total: not drawn
  EXPECT_EQ(std::string(buffer), "");
  bar.update({1 << 20, 4 << 20});
  bar.clear();
  bar.clear();
  std::fclose(out);
  EXPECT_EQ(std::string(buffer), "\r[#####...............]  25%  1.0 MiB of 4.0 MiB\033[K\r\033[K");
}

}  // namespace
