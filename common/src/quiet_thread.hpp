// quiet_thread.hpp — a helper thread the program's signals never reach (internal).
#pragma once

#include <pthread.h>

#include <cstddef>

namespace isolate::detail {

/// Starts `body(argument)` on a new joinable thread with a stack of `stack_bytes` (at least
/// PTHREAD_STACK_MIN) and every signal blocked: a signal meant for the program (SIGXCPU, SIGALRM,
/// a handler it installed) reaches one of its own threads, and no handler runs on the small
/// stack. (A small stack because glibc keeps a finished thread's stack for the next one, and in
/// a worker RLIMIT_DATA counts it.) The calling thread's signal mask is unchanged. False if the
/// thread cannot be started. Thread safety: any thread. Never throws.
[[nodiscard]] bool start_quiet_thread(pthread_t& thread, void* (*body)(void*), void* argument,
                                      std::size_t stack_bytes) noexcept;

}  // namespace isolate::detail
