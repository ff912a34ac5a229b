// json_document.hpp — the deterministic sample document of the demo and the benchmarks: an
// array of records mixing short strings, strings with escapes and non-ASCII text, integers,
// 62-bit integers, floats, booleans, nulls, nested objects and arrays (the shape of the
// anchors' gen_json.py). The same seed gives the same bytes.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <string>

namespace isolate::examples {
const char* const kWords[] = {"alpha", "beta",    "gamma", "delta", "epsilon",  "zeta",    "eta",   "theta",  "iota",
                              "kappa", "lambda",  "mu",    "nu",    "xi",       "omicron", "pi",    "rho",    "sigma",
                              "tau",   "upsilon", "phi",   "chi",   "psi",      "omega",   "apple", "banana", "cherry",
                              "date",  "elder",   "fig",   "grape", "honeydew", "kiwi",    "lemon", "mango",  "orange"};
const char* const kCities[] = {"Zürich",   "München",       "São Paulo", "Kraków", "東京",  "Reykjavík",
                               "New York", "Île-de-France", "Αθήνα",     "Москва", "Cairo", "Lagos"};
const char* const kEvents[] = {"login", "logout", "purchase", "refund", "view", "click", "error"};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : random_(seed) {}

  nlohmann::json record(std::uint64_t id) {
    nlohmann::json tags = nlohmann::json::array();
    for (auto n = below(7) + 1; n > 0; --n) tags.push_back(word());
    nlohmann::json values = nlohmann::json::array();
    for (auto n = below(12) + 4; n > 0; --n) values.push_back(static_cast<std::int64_t>(below(2'000'000)) - 1'000'000);
    nlohmann::json matrix = nlohmann::json::array();
    for (auto n = below(3) + 1; n > 0; --n) {
      matrix.push_back({normal(), normal(), normal(), normal()});
    }
    nlohmann::json history = nlohmann::json::array();
    for (auto n = below(5); n > 0; --n) {
      history.push_back(
          {{"t", 1'690'000'000 + below(10'000'000)}, {"event", kEvents[below(7)]}, {"ok", uniform() < 0.9}});
    }
    return {
        {"id", id},
        {"uuid", hex128()},
        {"name", std::string(word()) + " " + word()},
        {"email", std::string(word()) + "." + std::to_string(below(1'000'000)) + "@example.com"},
        {"active", uniform() < 0.5},
        {"score", uniform() * 100},
        {"balance", (uniform() * 2 - 1) * 1e6},
        {"ratio", 1e-9 + uniform() * 1e-3},
        {"big", random_() >> 2},
        {"parent", uniform() < 0.7 ? nlohmann::json(nullptr) : nlohmann::json(below(id + 1))},
        {"tags", tags},
        {"values", values},
        {"matrix", matrix},
        {"address",
         {{"street", std::to_string(below(9999) + 1) + " " + word() + " Street"},
          {"city", kCities[below(12)]},
          {"zip", std::to_string(10000 + below(90000))},
          {"geo", {{"lat", uniform() * 180 - 90}, {"lng", uniform() * 360 - 180}}}}},
        {"note", std::string(word()) + " \"quoted\" \\ back\tslash\nnew line – ✓ " + word()},
        {"history", history},
    };
  }

 private:
  std::uint64_t below(std::uint64_t n) { return random_() % n; }
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(random_); }
  double normal() { return std::round(std::normal_distribution<double>(0, 1)(random_) * 1e5) / 1e5; }
  const char* word() { return kWords[below(std::size(kWords))]; }
  std::string hex128() {
    char out[33];
    std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(random_()),
                  static_cast<unsigned long long>(random_()));
    return out;
  }
  std::mt19937_64 random_;
};

/// A compact JSON array of records, about `target_bytes` long.
inline std::string make_json_document(std::uint64_t target_bytes, std::uint64_t seed = 20240601) {
  Generator generator(seed);
  std::string out = "[";
  for (std::uint64_t n = 0; out.size() + 1 < target_bytes; ++n) {
    if (n != 0) out += ',';
    out += generator.record(n).dump();
  }
  out += ']';
  return out;
}

}  // namespace isolate::examples
