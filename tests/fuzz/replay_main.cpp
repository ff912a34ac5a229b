// replay_main.cpp — a fuzz target as an ordinary program (g++, every build of the tests): runs it
// over its seeds and over every file in the directories given; a crash or a sanitizer report fails
// the test. With --write-seeds DIR it writes the seeds there, for libFuzzer to start from.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "fuzz_target.hpp"

namespace {

void run(const std::string& input) {
  (void)LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--write-seeds") {
    std::filesystem::create_directories(argv[2]);
    int n = 0;
    for (const auto& seed : fuzz_seeds()) {
      std::ofstream(std::filesystem::path(argv[2]) / ("seed-" + std::to_string(n++)), std::ios::binary) << seed;
    }
    return 0;
  }
  int replayed = 0;
  for (const auto& seed : fuzz_seeds()) {
    run(seed);
    ++replayed;
  }
  for (int i = 1; i < argc; ++i) {
    if (!std::filesystem::is_directory(argv[i])) continue;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      run(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
      ++replayed;
    }
  }
  std::printf("replayed %d inputs\n", replayed);
  return 0;
}
