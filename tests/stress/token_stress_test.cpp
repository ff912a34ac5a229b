// Concurrency stress of the cancellation-token family, meant to run under ThreadSanitizer.
//
// Each test runs many short rounds on a few persistent threads that a std::barrier releases
// together, so every round races cancel() against on_cancel(), reset(), copies and destruction of
// handles, merged tokens over shared inputs, timeout tokens, run_cancellable, CancellableCompleter
// and as_cancellable. After each round the test checks the exact contract: each callback ran
// exactly once (or, when reset, at most once and never after reset() returned), the exception is
// the first one, and no registration is left behind on any token. Sizes are chosen so the whole
// binary stays well under 60 s under TSan on 2 cores; no assertion depends on timing.
#include <isolate/cancellable_completer.hpp>
#include <isolate/cancellable_future.hpp>
#include <isolate/cancellation_token.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "sanity_bound.hpp"
#include "test_errors.hpp"

namespace {

using namespace std::chrono_literals;
using isolate::CancellableCompleter;
using isolate::CancellationCallback;
using isolate::CancellationToken;
using isolate::CancelledException;
using isolate::MergedCancellationToken;
using isolate::TimeoutCancellationToken;

using isolate::test::kSanityBound;  // only catches a hang

// Runs `rounds` rounds. In each, `setup(round)` runs alone, then `work(thread, round)` runs on
// `threads` persistent threads released together, then `check(round)` runs alone.
void run_rounds(int threads, int rounds, const std::function<void(int)>& setup,
                const std::function<void(int, int)>& work, const std::function<void(int)>& check) {
  std::barrier sync{threads + 1};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int round = 0; round < rounds; ++round) {
        sync.arrive_and_wait();  // setup done
        work(t, round);
        sync.arrive_and_wait();  // work done
      }
    });
  }
  for (int round = 0; round < rounds; ++round) {
    setup(round);
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    check(round);
  }
  for (auto& thread : pool) thread.join();
}

TEST(TokenStress, ConcurrentCancelsAndRegistrationsRunEachCallbackExactlyOnce) {
  constexpr int kRegistrars = 2;
  constexpr int kCancellers = 2;
  constexpr int kPerRegistrar = 32;
  constexpr int kRounds = 600;
  CancellationToken token;
  std::vector<std::atomic<int>> runs(kRegistrars * kPerRegistrar);
  std::vector<std::atomic<bool>> saw_final_exception(kRegistrars * kPerRegistrar);
  std::vector<std::vector<CancellationCallback>> registrations(kRegistrars);

  run_rounds(
      kRegistrars + kCancellers, kRounds,
      [&](int) {
        token = CancellationToken{};
        for (auto& r : runs) r.store(0);
        for (auto& s : saw_final_exception) s.store(false);
      },
      [&](int thread, int) {
        if (thread < kRegistrars) {
          auto& mine = registrations[static_cast<std::size_t>(thread)];
          for (int i = 0; i < kPerRegistrar; ++i) {
            const auto slot = static_cast<std::size_t>(thread * kPerRegistrar + i);
            mine.push_back(token.on_cancel([&, slot](std::exception_ptr e) {
              runs[slot].fetch_add(1);
              saw_final_exception[slot].store(e != nullptr && e == token.exception());
            }));
          }
        } else {
          token.cancel("canceller " + std::to_string(thread));
        }
      },
      [&](int round) {
        for (std::size_t slot = 0; slot < runs.size(); ++slot) {
          ASSERT_EQ(runs[slot].load(), 1) << "round " << round << " callback " << slot;
          ASSERT_TRUE(saw_final_exception[slot].load()) << "round " << round << " callback " << slot;
        }
        const std::string reason = isolate::test::cancelled_reason(token.exception());
        ASSERT_TRUE(reason == "canceller 2" || reason == "canceller 3") << reason;
        ASSERT_FALSE(token.has_callbacks());
        for (auto& mine : registrations) mine.clear();
      });
}

TEST(TokenStress, ResetRacingCancelNeverReturnsWhileItsCallbackRunsAndNeverRunsItLate) {
  constexpr int kCallbacks = 48;
  constexpr int kRounds = 600;
  // 0: not started, 1: running, 2: done.
  std::vector<std::atomic<int>> state(kCallbacks);
  std::vector<int> state_when_reset(kCallbacks);
  std::vector<CancellationCallback> registrations(kCallbacks);
  std::atomic<std::uint64_t> busy{0};
  CancellationToken token;

  run_rounds(
      2, kRounds,
      [&](int) {
        token = CancellationToken{};
        for (std::size_t i = 0; i < registrations.size(); ++i) {
          state[i].store(0);
          registrations[i] = token.on_cancel([&, i](std::exception_ptr) {
            state[i].store(1);
            // A short busy stretch (no yield: under load a yield can cost a whole time slice).
            for (int spin = 0; spin < 200; ++spin) busy.fetch_add(1, std::memory_order_relaxed);
            state[i].store(2);
          });
        }
      },
      [&](int thread, int round) {
        if (thread == 0) {
          token.cancel();
        } else {
          // Reset from both ends on alternate rounds, so resets land before, during and after.
          for (std::size_t k = 0; k < registrations.size(); ++k) {
            const std::size_t i = (round % 2 == 0) ? k : registrations.size() - 1 - k;
            registrations[i].reset();
            state_when_reset[i] = state[i].load();
          }
        }
      },
      [&](int round) {
        for (std::size_t i = 0; i < registrations.size(); ++i) {
          ASSERT_NE(state_when_reset[i], 1)
              << "reset() returned while callback " << i << " ran (round " << round << ")";
          if (state_when_reset[i] == 0) {
            ASSERT_EQ(state[i].load(), 0) << "callback " << i << " ran after its reset() returned";
          }
        }
        ASSERT_FALSE(token.has_callbacks());
      });
}

TEST(TokenStress, SelfAndMutualDeregistrationDuringConcurrentCancelsRunsEachAtMostOnce) {
  constexpr int kPairs = 16;
  constexpr int kRounds = 800;
  CancellationToken token;
  std::vector<CancellationCallback> registrations(2 * kPairs);
  std::vector<std::atomic<int>> runs(2 * kPairs);

  run_rounds(
      2, kRounds,
      [&](int) {
        token = CancellationToken{};
        for (auto& r : runs) r.store(0);
        for (std::size_t p = 0; p < kPairs; ++p) {
          const std::size_t a = 2 * p;
          const std::size_t b = 2 * p + 1;
          // a resets itself; b resets its partner a (which may or may not have run yet).
          registrations[a] = token.on_cancel([&, a](std::exception_ptr) {
            runs[a].fetch_add(1);
            registrations[a].reset();
          });
          registrations[b] = token.on_cancel([&, a, b](std::exception_ptr) {
            runs[b].fetch_add(1);
            registrations[a].reset();
          });
        }
      },
      [&](int, int) { token.cancel(); },
      [&](int round) {
        for (std::size_t i = 0; i < runs.size(); ++i) {
          ASSERT_LE(runs[i].load(), 1) << "round " << round << " callback " << i;
        }
        for (std::size_t p = 0; p < kPairs; ++p) ASSERT_EQ(runs[2 * p + 1].load(), 1);
        ASSERT_FALSE(token.has_callbacks());
        for (auto& r : registrations) r.reset();
      });
}

TEST(TokenStress, HandlesCopiedQueriedAndDestroyedWhileCancellingAreSafe) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 300;
  constexpr int kOps = 200;
  CancellationToken token;
  std::atomic<int> callback_runs{0};
  std::atomic<int> registered{0};
  // Kept until the round's check, so every registration is live when the token is cancelled.
  std::vector<std::vector<CancellationCallback>> registrations(kThreads);

  run_rounds(
      kThreads, kRounds,
      [&](int) {
        token = CancellationToken{};
        callback_runs.store(0);
        registered.store(0);
      },
      [&](int thread, int) {
        std::vector<CancellationToken> copies;
        auto& mine = registrations[static_cast<std::size_t>(thread)];
        for (int op = 0; op < kOps; ++op) {
          copies.push_back(token);
          const CancellationToken& copy = copies.back();
          (void)copy.is_cancelled();
          (void)copy.exception();
          (void)copy.has_callbacks();
          if (op % 4 == 0) {
            mine.push_back(copy.on_cancel([&](std::exception_ptr) { callback_runs.fetch_add(1); }));
            registered.fetch_add(1);
          }
          if (op % 16 == 0) copies.clear();
          if (thread == 0 && op == kOps / 2) CancellationToken{token}.cancel();
        }
      },
      [&](int) {
        ASSERT_TRUE(token.is_cancelled());
        ASSERT_EQ(callback_runs.load(), registered.load());
        ASSERT_FALSE(token.has_callbacks());
        for (auto& mine : registrations) mine.clear();
      });
}

TEST(TokenStress, MergedTokensOverSharedInputsRunOnceAndLeaveNoRegistrationBehind) {
  constexpr int kRegistrars = 3;
  constexpr int kPerRegistrar = 16;
  constexpr int kRounds = 300;
  CancellationToken a;
  CancellationToken b;  // never cancelled: must not keep registrations of dead merged tokens
  std::vector<std::vector<CancellationCallback>> kept(kRegistrars);
  std::vector<std::vector<MergedCancellationToken>> merged(kRegistrars);
  std::vector<std::atomic<int>> runs(kRegistrars * kPerRegistrar);

  run_rounds(
      kRegistrars + 1, kRounds,
      [&](int) {
        a = CancellationToken{};
        b = CancellationToken{};
        for (auto& r : runs) r.store(0);
      },
      [&](int thread, int) {
        if (thread == kRegistrars) {
          a.cancel("a");
          return;
        }
        const auto t = static_cast<std::size_t>(thread);
        for (int i = 0; i < kPerRegistrar; ++i) {
          const auto slot = static_cast<std::size_t>(thread * kPerRegistrar + i);
          // Alternate input order and nesting; every merged token contains a.
          MergedCancellationToken m = (i % 3 == 0)   ? MergedCancellationToken{{a, b}}
                                      : (i % 3 == 1) ? MergedCancellationToken{{b, a}}
                                                     : MergedCancellationToken{{b, MergedCancellationToken{{a, b}}}};
          // Churn: a registration that is dropped at once, racing the cancel of a.
          {
            auto churn = m.on_cancel([](std::exception_ptr) {});
          }
          kept[t].push_back(m.on_cancel([&, slot](std::exception_ptr) { runs[slot].fetch_add(1); }));
          merged[t].push_back(std::move(m));
        }
      },
      [&](int round) {
        for (std::size_t slot = 0; slot < runs.size(); ++slot) {
          ASSERT_EQ(runs[slot].load(), 1) << "round " << round << " merged callback " << slot;
        }
        for (auto& tokens : merged) {
          for (auto& m : tokens) ASSERT_EQ(m.exception(), a.exception());
        }
        for (auto& registrations : kept) registrations.clear();
        for (auto& tokens : merged) tokens.clear();
        ASSERT_FALSE(a.has_callbacks());
        ASSERT_FALSE(b.has_callbacks()) << "round " << round << ": a dead merged token left a registration on b";
      });
}

TEST(TokenStress, MergedRegistrationsResetRacingAnInputCancelLeaveNoRegistrationBehind) {
  constexpr int kRounds = 800;
  constexpr int kMerged = 16;
  CancellationToken a;
  CancellationToken b;
  std::vector<MergedCancellationToken> merged;
  std::vector<CancellationCallback> registrations;

  run_rounds(
      2, kRounds,
      [&](int) {
        a = CancellationToken{};
        b = CancellationToken{};
        merged.clear();
        registrations.clear();
        for (int i = 0; i < kMerged; ++i) {
          merged.push_back(MergedCancellationToken{{a, b}});
          registrations.push_back(merged.back().on_cancel([](std::exception_ptr) {}));
        }
      },
      [&](int thread, int) {
        if (thread == 0) {
          a.cancel();
        } else {
          for (auto& r : registrations) r.reset();
        }
      },
      [&](int round) {
        ASSERT_FALSE(a.has_callbacks()) << "round " << round;
        ASSERT_FALSE(b.has_callbacks()) << "round " << round;
        for (const auto& m : merged) ASSERT_TRUE(m.is_cancelled());
      });
}

TEST(TokenStress, TimeoutTokensCreatedFiredAndDestroyedConcurrently) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::atomic<int> fired{0};
  std::atomic<int> kept_alive{0};
  std::vector<std::vector<TimeoutCancellationToken>> keep(kThreads);
  std::vector<std::vector<CancellationCallback>> registrations(kThreads);

  run_rounds(
      kThreads, 1, [](int) {},
      [&](int thread, int) {
        const auto t = static_cast<std::size_t>(thread);
        std::minstd_rand random{static_cast<std::minstd_rand::result_type>(thread + 1)};
        for (int i = 0; i < kPerThread; ++i) {
          const auto timeout = std::chrono::microseconds{random() % 3000};
          isolate::TimeoutOptions options;
          options.lazy_start = (i % 5 == 0);
          TimeoutCancellationToken token{timeout, options};
          switch (i % 4) {
            case 0:  // dropped at once: its clock must stop without firing anything
              break;
            case 1:  // cancelled by hand, racing its own clock
              token.cancel();
              break;
            default:  // kept with a registration: must fire (or already have fired)
              registrations[t].push_back(token.on_cancel([&](std::exception_ptr) { fired.fetch_add(1); }));
              keep[t].push_back(token);
              kept_alive.fetch_add(1);
              break;
          }
        }
      },
      [&](int) {
        const auto deadline = std::chrono::steady_clock::now() + kSanityBound;
        while (fired.load() < kept_alive.load() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(1ms);
        }
        ASSERT_EQ(fired.load(), kept_alive.load());
        for (auto& tokens : keep) {
          for (auto& token : tokens) ASSERT_TRUE(token.is_cancelled());
        }
      });
}

TEST(TokenStress, RunCancellableWithRandomCancelsEndsEveryTaskCleanly) {
  constexpr int kRounds = 150;
  constexpr int kTasks = 24;
  std::vector<CancellationToken> tokens(kTasks);
  std::vector<std::future<int>> futures(kTasks);

  run_rounds(
      2, kRounds,
      [&](int) {
        for (auto& token : tokens) token = CancellationToken{};
      },
      [&](int thread, int round) {
        if (thread == 0) {
          for (std::size_t i = 0; i < tokens.size(); ++i) {
            futures[i] = isolate::run_cancellable([i] { return static_cast<int>(i); }, tokens[i]);
          }
        } else {
          std::minstd_rand random{static_cast<std::minstd_rand::result_type>(round + 7)};
          for (auto& token : tokens) {
            if (random() % 2 == 0) token.cancel();
          }
        }
      },
      [&](int round) {
        for (std::size_t i = 0; i < futures.size(); ++i) {
          ASSERT_EQ(futures[i].wait_for(kSanityBound), std::future_status::ready) << "round " << round;
          try {
            ASSERT_EQ(futures[i].get(), static_cast<int>(i));
          } catch (const CancelledException&) {
            ASSERT_TRUE(tokens[i].is_cancelled()) << "cancelled future of an uncancelled token";
          }
          ASSERT_FALSE(tokens[i].has_callbacks()) << "round " << round << " task " << i;
        }
      });
}

// Work that returns the instant it sees its std::stop_token must never complete the future with
// its value ahead of the cancel that stopped it: the token's exception is the only outcome.
TEST(TokenStress, WorkReturningOnStopNeverBeatsTheCancelThatStoppedIt) {
  constexpr int kRuns = 300;
  for (int i = 0; i < kRuns; ++i) {
    CancellationToken token;
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto future = isolate::run_cancellable(
        [started](std::stop_token stop) {
          started->store(true);
          while (!stop.stop_requested()) std::this_thread::yield();
          return 1;
        },
        token);
    while (!started->load()) std::this_thread::yield();
    token.cancel("stop");
    ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "run " << i;
    ASSERT_THROW(future.get(), CancelledException) << "run " << i;
  }
}

TEST(TokenStress, CompleterCompleteRacingCancelHasExactlyOneOutcome) {
  constexpr int kRounds = 1500;
  CancellationToken token;
  std::unique_ptr<CancellableCompleter<int>> completer;
  std::future<int> future;
  std::atomic<int> on_cancel_runs{0};

  run_rounds(
      2, kRounds,
      [&](int) {
        token = CancellationToken{};
        on_cancel_runs.store(0);
        completer = std::make_unique<CancellableCompleter<int>>(token, [&] { on_cancel_runs.fetch_add(1); });
        future = completer->future();
      },
      [&](int thread, int round) {
        if (thread == 0) {
          completer->complete(round);
        } else {
          token.cancel();
        }
      },
      [&](int round) {
        ASSERT_TRUE(completer->is_completed());
        bool cancelled = false;
        try {
          ASSERT_EQ(future.get(), round);
        } catch (const CancelledException&) {
          cancelled = true;
        }
        ASSERT_EQ(completer->is_cancelled(), cancelled) << "round " << round;
        ASSERT_EQ(on_cancel_runs.load(), cancelled ? 1 : 0) << "round " << round;
        ASSERT_FALSE(token.has_callbacks());
        completer.reset();
      });
}

TEST(TokenStress, AsCancellableValueRacingCancelHasExactlyOneOutcome) {
  constexpr int kRounds = 800;
  CancellationToken token;
  std::promise<int> promise;
  std::future<int> future;

  run_rounds(
      2, kRounds,
      [&](int) {
        token = CancellationToken{};
        promise = std::promise<int>{};
        future = isolate::as_cancellable(promise.get_future(), token);
      },
      [&](int thread, int round) {
        if (thread == 0) {
          promise.set_value(round);
        } else {
          token.cancel();
        }
      },
      [&](int round) {
        ASSERT_EQ(future.wait_for(kSanityBound), std::future_status::ready);
        try {
          ASSERT_EQ(future.get(), round);
        } catch (const CancelledException&) {
          ASSERT_TRUE(token.is_cancelled());
        }
        ASSERT_FALSE(token.has_callbacks()) << "round " << round;
      });
}

TEST(TokenStress, StopTokenInteropRacingCancelOrRequestStopNeverMissesIt) {
  constexpr int kRounds = 1200;
  CancellationToken token;
  std::stop_token seen_stop;
  std::stop_source source = isolate::detail::new_stop_source();  // GCC 12 -Og: see there
  CancellationToken from_stop;
  CancellationCallback registration;
  std::atomic<int> runs{0};

  run_rounds(
      2, kRounds,
      [&](int) {
        token = CancellationToken{};
        source = std::stop_source{};
        runs.store(0);
      },
      [&](int thread, int) {
        if (thread == 0) {
          token.cancel();
          source.request_stop();
        } else {
          seen_stop = token.stop_token();
          from_stop = CancellationToken::from(source.get_token());
          registration = from_stop.on_cancel([&](std::exception_ptr) { runs.fetch_add(1); });
        }
      },
      [&](int round) {
        ASSERT_TRUE(seen_stop.stop_requested()) << "round " << round << ": stop_token() missed the cancel";
        ASSERT_TRUE(from_stop.is_cancelled()) << "round " << round << ": from() missed request_stop()";
        ASSERT_EQ(runs.load(), 1) << "round " << round;
        registration.reset();
        ASSERT_FALSE(from_stop.has_callbacks());
      });
}

}  // namespace
