// The README's zero-copy payloads: a large buffer handed over to a pool job that reads it in
// place in shared memory and returns part of it as a view, which travels back without a copy in
// the worker and lands in the caller's own buffer; then a file the worker reads itself (FileInput),
// whose bytes never pass through this process.
#include <isolate/isolate.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

isolate::Job<std::span<const std::uint8_t>, std::span<const std::uint8_t>> strip_header(
    "example.strip-header",
    [](std::span<const std::uint8_t> in) { return in.subspan(std::min<std::size_t>(16, in.size())); });

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;  // first line

  isolate::IsolatePool pool({.workers = 1});
  std::vector<std::uint8_t> buffer(std::size_t{64} << 20, 1);  // a 16-byte header, then the body
  std::fill_n(buffer.begin(), 16, std::uint8_t{0xff});
  const auto* allocation = buffer.data();

  std::vector<std::uint8_t> body = pool.run(strip_header, std::move(buffer)).get();

  const bool intact = body.size() == (std::size_t{64} << 20) - 16 &&
                      std::all_of(body.begin(), body.end(), [](std::uint8_t b) { return b == 1; });
  std::printf("body: %zu bytes, %s, %s\n", body.size(), intact ? "intact" : "CORRUPTED",
              body.data() == allocation ? "in the buffer handed over" : "in a new buffer");

  char path[] = "/tmp/isolate-zero-copy-XXXXXX";  // a 16-byte header and a 4 KiB body, on disk
  const int out = ::mkstemp(path);
  const std::vector<std::uint8_t> record(16 + 4096, 7);
  const bool written = out >= 0 && ::write(out, record.data(), record.size()) == static_cast<ssize_t>(record.size());
  if (out >= 0) ::close(out);

  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  auto from_file = isolate::CancellableIsolate::run(strip_header, isolate::FileInput{fd, 1 << 30});
  ::close(fd);  // run() holds its own duplicate; the worker closes its copy once it has read it

  ::unlink(path);
  const auto file_body = written ? from_file.get() : std::vector<std::uint8_t>{};
  std::printf("file body: %zu bytes\n", file_body.size());
  return intact && file_body.size() == 4096 ? 0 : 1;
}
