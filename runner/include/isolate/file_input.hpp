// file_input.hpp — FileInput: a job's input read from an open file by the worker itself, so the
// bytes never pass through this process.
//
//   int fd = ::open("big.json", O_RDONLY | O_CLOEXEC);
//   auto stats = isolate::CancellableIsolate::run(parse, isolate::FileInput{fd, 1 << 30}, token);
//   ::close(fd);  // run() holds its own duplicate
#pragma once

#include <cstdint>
#include <limits>

namespace isolate {

/// The input of a job that takes bytes (std::string_view, std::span<const std::uint8_t>,
/// std::string or std::vector<std::uint8_t>), for CancellableIsolate::run.
///
/// run() duplicates `fd` at once (the caller may close its own afterwards) and the worker reads
/// it, from its current offset to its end, before the job starts: a regular file is mapped
/// (read-only, private: its pages come straight from the page cache, no copy), anything else
/// (a pipe, a FIFO, a socket, a character device) is read in large reads. Reading is part of the
/// run: the token kills the worker mid-read like mid-job, so an input that never ends (a FIFO
/// without a writer, /dev/zero) cannot hold a run past its cancel. A byte-view input is followed
/// by JobContext::input_padding() zero bytes.
///
/// The future holds InputError when the input cannot be read (the read's error) or holds more
/// than `max_bytes` bytes (a regular file is refused before it is mapped; a stream as soon as
/// it goes past). A regular file truncated while its job runs makes the job's next read of the
/// lost pages kill the worker (WorkerCrashed, SIGBUS), and a job may see bytes written to the
/// file meanwhile: give it a file nobody changes. On the thread backend the input is read into
/// memory on the job's thread (a cancel stops the read within 0.1 s; input_padding() is 0).
struct FileInput {
  int fd = -1;  ///< open for reading; not closed by the library
  std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
};

}  // namespace isolate
