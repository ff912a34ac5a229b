// interleaved.hpp — measuring several ways of doing one thing in turn, so that a noisy moment of
// the machine hits them all alike (the benchmarks' one way of computing a ratio).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace isolate::bench {

/// Measures several ways of doing one thing in turn, one sample each per iteration (ours, then
/// the baseline, alternating), so that a noisy moment of the machine hits them all alike; reports
/// each one's median ("<name>_us") and its ratio to the first, the baseline ("<name>_x").
class Interleaved {
 public:
  /// `sample` does the operation once and returns the seconds that count (its own setup aside).
  void add(std::string name, std::function<double()> sample) {
    ways_.push_back({std::move(name), std::move(sample), {}});
  }

  /// Records one sample of a side figure (page faults, say): reported as its median, "<key>".
  void note(const std::string& key, double value) { notes_[key].push_back(value); }

  void run(benchmark::State& state) {
    for (auto _ : state) {
      double total = 0;
      for (auto& way : ways_) {
        way.seconds.push_back(way.sample());
        total += way.seconds.back();
      }
      state.SetIterationTime(total);
    }
    const double baseline = median(ways_.front().seconds);
    for (auto& way : ways_) {
      const double m = median(way.seconds);
      state.counters[way.name + "_us"] = m * 1e6;
      if (&way != &ways_.front()) state.counters[way.name + "_x"] = baseline > 0 ? m / baseline : 0;
    }
    for (auto& [key, values] : notes_) state.counters[key] = median(values);
  }

 private:
  struct Way {
    std::string name;
    std::function<double()> sample;
    std::vector<double> seconds;
  };
  static double median(std::vector<double> seconds) {
    if (seconds.empty()) return 0;
    std::sort(seconds.begin(), seconds.end());
    const auto mid = seconds.size() / 2;
    return seconds.size() % 2 == 1 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2;
  }
  std::vector<Way> ways_;
  std::map<std::string, std::vector<double>> notes_;
};

/// The seconds `operation` takes.
template <class Operation>
double seconds_of(Operation&& operation) {
  const auto t0 = std::chrono::steady_clock::now();
  benchmark::DoNotOptimize(operation());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace isolate::bench
