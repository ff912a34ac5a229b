// signal_text.cpp — signal_text.
#include "signal_text.hpp"

#include <cstring>  // sigabbrev_np (glibc)

namespace isolate::detail {

std::string signal_text(int signal) {
  std::string text = "signal " + std::to_string(signal);
  if (const char* name = ::sigabbrev_np(signal); name != nullptr) text.append(" (SIG").append(name).append(")");
  return text;
}

}  // namespace isolate::detail
