// generate-json — writes the deterministic sample JSON document (see json_document.hpp) of about
// TARGET_BYTES to OUT_PATH. Used by the demo and the benchmarks.
//
//   generate-json OUT_PATH [TARGET_BYTES=100000000] [SEED=20240601]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "json_document.hpp"

using isolate::examples::Generator;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: generate-json OUT_PATH [TARGET_BYTES=100000000] [SEED=20240601]\n");
    return 64;
  }
  const std::uint64_t target = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100'000'000ull;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20240601ull;
  const std::string tmp = std::string(argv[1]) + ".partial";
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) {
    std::perror(argv[1]);
    return 66;
  }
  Generator generator(seed);
  std::uint64_t written = 1;
  std::fputc('[', out);
  std::uint64_t n = 0;
  while (written + 1 < target) {
    const std::string chunk = generator.record(n).dump();
    if (n != 0) {
      std::fputc(',', out);
      ++written;
    }
    std::fwrite(chunk.data(), 1, chunk.size(), out);
    written += chunk.size();
    ++n;
  }
  std::fputc(']', out);
  ++written;
  if (std::fclose(out) != 0 || std::rename(tmp.c_str(), argv[1]) != 0) {
    std::perror(argv[1]);
    return 74;
  }
  std::printf("%s: %llu bytes, %llu records (seed %llu)\n", argv[1], static_cast<unsigned long long>(written),
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(seed));
  return 0;
}
