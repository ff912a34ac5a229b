// quiet_thread.cpp — start_quiet_thread (see quiet_thread.hpp).
#include "quiet_thread.hpp"

#include <algorithm>
#include <csignal>

namespace isolate::detail {

bool start_quiet_thread(pthread_t& thread, void* (*body)(void*), void* argument, std::size_t stack_bytes) noexcept {
  pthread_attr_t attributes;
  if (::pthread_attr_init(&attributes) != 0) return false;
  (void)::pthread_attr_setstacksize(&attributes, std::max(stack_bytes, static_cast<std::size_t>(PTHREAD_STACK_MIN)));
  sigset_t all;
  sigset_t old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);  // the new thread inherits the mask
  const bool started = ::pthread_create(&thread, &attributes, body, argument) == 0;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::pthread_attr_destroy(&attributes);
  return started;
}

}  // namespace isolate::detail
