// async_coroutine.cpp — the README's asynchronous use: a coroutine awaits pool jobs on one
// io_context thread, races a runaway job against a timer (the loser's worker is killed), and a
// job reports its progress to a callback.
#include <isolate/asio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

// Counts the lines of a text, reporting how far it has come every 64 KiB.
isolate::Job<std::string, std::size_t> count_lines("example.count-lines",
                                                   [](const std::string& text, isolate::JobContext& context) {
                                                     std::size_t lines = 0;
                                                     for (std::size_t i = 0; i < text.size(); ++i) {
                                                       if (text[i] == '\n') ++lines;
                                                       if (i % 65536 == 0) context.report_progress(i, text.size());
                                                     }
                                                     return lines;
                                                   });
isolate::Job<int, int> runaway("example.runaway-job", [](const int& n) {
  volatile int spin = n;
  for (;;) spin = spin + 1;  // never returns: only a kill stops it
  return static_cast<int>(spin);
});

asio::awaitable<void> handle_requests(isolate::IsolatePool& pool) {
  // No thread blocks: the coroutine is suspended while a pool worker counts.
  const std::size_t lines =
      co_await isolate::async_run(pool, count_lines, std::string(5000, '\n'), asio::use_awaitable);
  std::printf("counted in a worker: %zu lines\n", lines);

  // Whichever finishes first: the timer wins, and the job's worker is killed and reaped.
  asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
  auto first =
      co_await (isolate::async_run(pool, runaway, 1, asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
  if (first.index() == 1) std::printf("the timer won; the runaway job's worker is gone\n");

  // A token works as everywhere: its exception comes out of co_await.
  try {
    (void)co_await isolate::async_run(pool, runaway, 2, isolate::TimeoutCancellationToken(100ms), asio::use_awaitable);
  } catch (const isolate::TimeoutException& e) {
    std::printf("runaway job: %s\n", e.what());
  }
}

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;  // first line of main
  isolate::IsolatePool pool({.workers = 2});

  asio::io_context io;
  asio::co_spawn(io, handle_requests(pool), [](std::exception_ptr error) {
    if (error) std::rethrow_exception(error);
  });
  io.run();

  // Progress: the latest report, on a library thread, never after the future is ready.
  auto future = pool.run(count_lines, std::string(64 << 20, 'x'), {}, [](const isolate::Progress& p) {
    std::printf("progress: %llu of %llu bytes\n", static_cast<unsigned long long>(p.done),
                static_cast<unsigned long long>(p.total));
  });
  std::printf("counted %zu lines with progress\n", future.get());
}
