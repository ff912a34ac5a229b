// Fault suite: every way a job can die or fail is mapped to its error, on one-shot runs and on a
// pool, and a pool goes on serving with a fresh worker after each.
#include <isolate/isolate.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <typeinfo>

#include "test_errors.hpp"
#include "test_jobs.hpp"

namespace isolate::test {
namespace {

/// What a crash kind must end as.
struct Expected {
  const char* kind;
  std::function<void(std::future<std::string>&)> check;
};

void expect_signal(std::future<std::string>& f, int signal) {
  try {
    (void)f.get();
    ADD_FAILURE() << "expected WorkerCrashed";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), signal) << e.what();
    EXPECT_FALSE(e.exit_code().has_value());
  }
}

void expect_exit(std::future<std::string>& f, int code) {
  try {
    (void)f.get();
    ADD_FAILURE() << "expected WorkerCrashed";
  } catch (const WorkerCrashed& e) {
    EXPECT_EQ(e.exit_code(), code) << e.what();
    EXPECT_FALSE(e.signal().has_value());
  }
}

const Expected kCrashKinds[] = {
    {"segv", [](auto& f) { expect_signal(f, SIGSEGV); }},
    {"stack-overflow", [](auto& f) { expect_signal(f, SIGSEGV); }},
    {"abort", [](auto& f) { expect_signal(f, SIGABRT); }},
    {"terminate", [](auto& f) { expect_signal(f, SIGABRT); }},
    {"bus", [](auto& f) { expect_signal(f, SIGBUS); }},
    {"fpe", [](auto& f) { expect_signal(f, SIGFPE); }},
    {"ill", [](auto& f) { expect_signal(f, SIGILL); }},
    {"kill", [](auto& f) { expect_signal(f, SIGKILL); }},
    {"exit-0", [](auto& f) { expect_exit(f, 0); }},
    {"exit-3", [](auto& f) { expect_exit(f, 3); }},
    {"bad-alloc", [](auto& f) { EXPECT_THROW((void)f.get(), std::bad_alloc); }},
    {"throw-int",
     [](auto& f) {
       try {
         (void)f.get();
         ADD_FAILURE() << "expected JobError";
       } catch (const JobError& e) {
         EXPECT_EQ(e.type_name(), "int");
       }
     }},
    {"scribble",
     [](auto& f) {
       try {
         (void)f.get();
         ADD_FAILURE() << "expected IsolateError";
       } catch (const WorkerCrashed& e) {
         ADD_FAILURE() << "a corrupted channel is not a crash: " << e.what();
       } catch (const IsolateError& e) {
         EXPECT_NE(std::string(e.what()).find("bad header"), std::string::npos) << e.what();
       }
     }},
};

class CrashKinds : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::process_backend_available()) GTEST_SKIP() << "built without the process backend";
  }
};

TEST_F(CrashKinds, EveryKindOfDeathOfAOneShotWorkerIsMappedToItsError) {
  for (const auto& expected : kCrashKinds) {
    SCOPED_TRACE(expected.kind);
    auto f = CancellableIsolate::run(crash_kind, std::string(expected.kind), {}, {.backend = Backend::process});
    expected.check(f);
  }
}

TEST_F(CrashKinds, EveryKindOfDeathOfAPoolWorkerIsMappedToItsErrorAndThePoolGoesOn) {
  IsolatePool pool({.workers = 1, .backend = Backend::process});
  for (const auto& expected : kCrashKinds) {
    SCOPED_TRACE(expected.kind);
    auto f = pool.run(crash_kind, std::string(expected.kind));
    expected.check(f);
    // The next job is served correctly, by a fresh worker where the last one died or its
    // channel could not be trusted.
    EXPECT_EQ(pool.run(echo, std::string("next")).get(), "next");
  }
}

}  // namespace
}  // namespace isolate::test
