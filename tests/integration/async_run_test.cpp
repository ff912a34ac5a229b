// Integration tests of isolate::async_run (<isolate/asio.hpp>): real worker processes (and the
// thread backend) completing Asio callbacks, futures, coroutines and deferred operations on the
// handler's executor; cancellation through the handler's slot killing the worker first.
#include <isolate/asio.hpp>

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "pid_file.hpp"
#include "process_helpers.hpp"
#include "process_table.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class AsyncRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
  TempDir dir_;
  [[nodiscard]] std::string pid_file() const { return (dir_.path() / "pid").string(); }
};

/// Rethrows `error` and reports whether it is Asio's operation_aborted.
bool is_operation_aborted(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted;
  } catch (...) {
  }
  return false;
}

TEST_F(AsyncRun, ACallbackGetsTheOutputOnItsExecutorNeverInsideAsyncRun) {
  asio::io_context io;
  std::thread::id io_thread;
  bool inside_async_run = false;
  std::optional<std::string> got;
  asio::post(io, [&] {
    io_thread = std::this_thread::get_id();
    inside_async_run = true;
    async_run(echo, std::string("hello"), asio::bind_executor(io, [&](std::exception_ptr error, std::string output) {
                EXPECT_FALSE(inside_async_run);
                EXPECT_EQ(std::this_thread::get_id(), io_thread);
                EXPECT_FALSE(error);
                got = std::move(output);
              }));
    inside_async_run = false;
  });
  io.run();  // returns only once the handler has run: the operation counts as the executor's work
  EXPECT_EQ(got, "hello");
}

TEST_F(AsyncRun, AnAlreadyCancelledTokenCompletesWithItsExceptionStillNeverInside) {
  asio::io_context io;
  CancellationToken token;
  token.cancel(std::make_exception_ptr(std::out_of_range("left already")));
  bool inside_async_run = false;
  std::exception_ptr got;
  asio::post(io, [&] {
    inside_async_run = true;
    async_run(echo, std::string("x"), token,
              asio::bind_executor(io, [&](std::exception_ptr error, const std::string& output) {
                EXPECT_FALSE(inside_async_run);
                EXPECT_EQ(output, "");  // default-constructed with an exception
                got = error;
              }));
    inside_async_run = false;
  });
  io.run();
  ASSERT_TRUE(got);
  EXPECT_THROW(std::rethrow_exception(got), std::out_of_range);
}

TEST_F(AsyncRun, UseFutureCarriesTheOutputAndTheJobsException) {
  auto output = async_run(echo, std::string("through a future"), asio::use_future);
  EXPECT_EQ(output.get(), "through a future");
  auto failing = async_run(throw_named, std::string("invalid_argument"), asio::use_future);
  EXPECT_THROW(failing.get(), std::invalid_argument);
}

TEST_F(AsyncRun, ACoroutineAwaitsPoolJobsAndCatchesTheirExceptions) {
  IsolatePool pool({.workers = 2, .backend = Backend::process});
  asio::io_context io;
  std::vector<std::string> outputs;
  bool caught = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const char* text : {"one", "two", "three"}) {
          outputs.push_back(co_await async_run(pool, echo, std::string(text), asio::use_awaitable));
        }
        try {
          co_await async_run(pool, throw_named, std::string("quota"), asio::use_awaitable);
        } catch (const QuotaExceeded&) {
          caught = true;
        }
      },
      [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);
      });
  io.run();
  EXPECT_EQ(outputs, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(caught);
}

TEST_F(AsyncRun, ManyConcurrentPoolJobsCompleteOnOneThread) {
  IsolatePool pool({.workers = 2, .backend = Backend::process});
  asio::io_context io;
  constexpr int kJobs = 300;
  int completed = 0;
  const auto io_thread = std::this_thread::get_id();
  for (int i = 0; i < kJobs; ++i) {
    async_run(pool, echo, std::to_string(i),
              asio::bind_executor(io, [&, i](std::exception_ptr error, const std::string& output) {
                EXPECT_FALSE(error);
                EXPECT_EQ(output, std::to_string(i));
                EXPECT_EQ(std::this_thread::get_id(), io_thread);
                ++completed;
              }));
  }
  io.run();
  EXPECT_EQ(completed, kJobs);
}

TEST_F(AsyncRun, AHandlerThatThrowsLeavesRunAndThePoolGoesOn) {
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  asio::io_context io;
  async_run(pool, echo, std::string("x"), asio::bind_executor(io, [](std::exception_ptr, const std::string&) {
              throw std::logic_error("handler broke");
            }));
  EXPECT_THROW(io.run(), std::logic_error);
  EXPECT_EQ(pool.run(echo, std::string("still here")).get(), "still here");
  io.restart();
  std::optional<std::string> got;
  async_run(pool, echo, std::string("again"),
            asio::bind_executor(io, [&](std::exception_ptr, std::string output) { got = std::move(output); }));
  io.run();
  EXPECT_EQ(got, "again");
}

TEST_F(AsyncRun, DeferredStartsTheRunWhenItIsInitiated) {
  asio::io_context io;
  auto operation = async_run(echo, std::string("later"), asio::deferred);
  std::optional<std::string> got;
  std::move(operation)(asio::bind_executor(io, [&](std::exception_ptr error, std::string output) {
    EXPECT_FALSE(error);
    got = std::move(output);
  }));
  io.run();
  EXPECT_EQ(got, "later");
}

using Handler =
    asio::executor_binder<std::function<void(std::exception_ptr, std::string)>, asio::io_context::executor_type>;

/// Starts `spin` under a cancellation slot, emits `type` once the job runs, and checks that the
/// handler (on `io`) sees operation_aborted with the worker already gone.
void expect_slot_cancel_kills(const std::function<void(asio::cancellation_slot, Handler)>& start,
                              const std::string& pid_file, asio::cancellation_type type) {
  asio::io_context io;
  asio::cancellation_signal signal;
  std::atomic<pid_t> pid{0};
  std::exception_ptr got;
  bool worker_gone_at_completion = false;
  bool completed = false;
  start(signal.slot(),
        asio::bind_executor(
            io, std::function<void(std::exception_ptr, std::string)>([&](std::exception_ptr error, const std::string&) {
              got = error;
              worker_gone_at_completion = pid.load() != 0 && pid_gone(pid.load());
              completed = true;
            })));
  std::thread io_thread([&] { io.run(); });
  pid = wait_for_pid_file(pid_file);
  asio::post(io, [&] { signal.emit(type); });
  io_thread.join();
  ASSERT_TRUE(completed);
  EXPECT_TRUE(is_operation_aborted(got));
  EXPECT_TRUE(worker_gone_at_completion) << "the handler ran before the worker was reaped";
}

TEST_F(AsyncRun, EveryCancellationTypeOfTheSlotKillsAOneShotWorkerFirst) {
  for (const auto type :
       {asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total}) {
    std::filesystem::remove(pid_file());
    expect_slot_cancel_kills(
        [&](asio::cancellation_slot slot, Handler handler) {
          async_run(spin, pid_file(), asio::bind_cancellation_slot(slot, std::move(handler)));
        },
        pid_file(), type);
  }
}

TEST_F(AsyncRun, CancellingTheSlotKillsAPoolWorkerAndThePoolGoesOn) {
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  expect_slot_cancel_kills(
      [&](asio::cancellation_slot slot, Handler handler) {
        async_run(pool, spin, pid_file(), asio::bind_cancellation_slot(slot, std::move(handler)));
      },
      pid_file(), asio::cancellation_type::terminal);
  EXPECT_EQ(pool.run(echo, std::string("after")).get(), "after");
}

TEST_F(AsyncRun, ATokenCancelCompletesWithTheTokensExactException) {
  struct UserLeft : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  asio::io_context io;
  CancellationToken token;
  std::exception_ptr got;
  async_run(spin, pid_file(), token,
            asio::bind_executor(io, [&](std::exception_ptr error, const std::string&) { got = error; }));
  std::thread io_thread([&] { io.run(); });
  const pid_t pid = wait_for_pid_file(pid_file());
  token.cancel(std::make_exception_ptr(UserLeft("user left")));
  io_thread.join();
  ASSERT_TRUE(got);
  EXPECT_THROW(std::rethrow_exception(got), UserLeft);
  EXPECT_TRUE(pid_gone(pid));
}

TEST_F(AsyncRun, TheJobLosingAnOrAgainstATimerHasItsWorkerKilled) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  std::optional<std::size_t> winner;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, 300ms);
        auto first =
            co_await (async_run(spin, pid_file(), asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
        winner = first.index();
      },
      [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);
      });
  io.run();
  EXPECT_EQ(winner, 1U) << "the timer should win against a job that never ends";
  EXPECT_EQ(live_below_new_children({}), std::vector<pid_t>{}) << "the losing job's worker is still there";
  if (std::filesystem::exists(pid_file())) {  // it started (a slow start may lose first)
    EXPECT_TRUE(pid_gone(wait_for_pid_file(pid_file()))) << "the losing job's worker is still there";
  }
  EXPECT_TRUE(eventually([] { return child_pids().empty(); }, 10s)) << "the losing job's relay was never reaped";
}

TEST_F(AsyncRun, TheThreadBackendCompletesAndIsCancelledThroughTheSlot) {
  asio::io_context io;
  std::optional<std::string> got;
  async_run(echo, std::string("on a thread"), {}, RunOptions{.backend = Backend::thread},
            asio::bind_executor(io, [&](std::exception_ptr error, std::string output) {
              EXPECT_FALSE(error);
              got = std::move(output);
            }));
  io.run();
  EXPECT_EQ(got, "on a thread");

  io.restart();
  asio::cancellation_signal signal;
  std::exception_ptr error_seen;
  const int started_before = wait_for_stop_started.load();
  async_run(wait_for_stop, std::string(), {}, RunOptions{.backend = Backend::thread},
            asio::bind_cancellation_slot(
                signal.slot(),
                asio::bind_executor(io, [&](std::exception_ptr error, const std::string&) { error_seen = error; })));
  std::thread io_thread([&] { io.run(); });
  EXPECT_TRUE(eventually([&] { return wait_for_stop_started.load() > started_before; }, 20s));
  asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
  io_thread.join();
  EXPECT_TRUE(is_operation_aborted(error_seen));
}

}  // namespace
}  // namespace isolate::test
