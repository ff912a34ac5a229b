// proc_status.hpp — one number of a process's /proc/<pid>/status ("VmRSS:", "Threads:", ...).
#pragma once

#include <fstream>
#include <string>

namespace isolate::bench {

/// The number after `key` in /proc/<pid>/status (`pid` may be "self"); 0 if it is not there.
inline long proc_status_number(const std::string& pid, const std::string& key) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string word;
  while (in >> word) {
    if (word == key) {
      long value = 0;
      in >> value;
      return value;
    }
  }
  return 0;
}

}  // namespace isolate::bench
