// pid_file.hpp — waiting for the pid a test job writes to a file once it runs.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "process_helpers.hpp"

namespace isolate::test {

/// The pid a job wrote to `file`, read once the file exists and is not empty (a job may be seen
/// between creating the file and writing it). A test failure, and 0, if no pid came within 20 s.
inline pid_t wait_for_pid_file(const std::filesystem::path& file) {
  std::string text;
  const bool written = eventually(
      [&] {
        text = std::filesystem::exists(file) ? read_file(file) : std::string();
        return !text.empty();
      },
      std::chrono::seconds(20));
  EXPECT_TRUE(written) << "the job never wrote its pid to " << file;
  return written ? static_cast<pid_t>(std::stol(text)) : 0;
}

}  // namespace isolate::test
