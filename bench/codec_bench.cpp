// codec_bench — which binary encoding should carry nlohmann::json payloads between processes?
// Encodes and decodes a ~20 MB sample document with CBOR, MessagePack and BSON (BSON needs an
// object at the top: the array is wrapped), and reports bytes/s of the JSON text size so the
// three compare directly. The winner is what detail::Codec uses (see README).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "json_document.hpp"

namespace {

struct Sample {
  std::size_t text_bytes;
  nlohmann::json array;
  nlohmann::json object;  // {"records": array}, for BSON
};

const Sample& sample() {
  static const Sample s = [] {
    const auto text = isolate::examples::make_json_document(20'000'000);
    auto array = nlohmann::json::parse(text);
    return Sample{text.size(), array, nlohmann::json{{"records", array}}};
  }();
  return s;
}

enum class Format { cbor, msgpack, bson };

std::vector<std::uint8_t> encode(Format f) {
  std::vector<std::uint8_t> out;
  switch (f) {
    case Format::cbor:
      nlohmann::json::to_cbor(sample().array, out);
      break;
    case Format::msgpack:
      nlohmann::json::to_msgpack(sample().array, out);
      break;
    case Format::bson:
      nlohmann::json::to_bson(sample().object, out);
      break;
  }
  return out;
}

nlohmann::json decode(Format f, const std::vector<std::uint8_t>& bytes) {
  switch (f) {
    case Format::cbor:
      return nlohmann::json::from_cbor(bytes);
    case Format::msgpack:
      return nlohmann::json::from_msgpack(bytes);
    case Format::bson:
      return nlohmann::json::from_bson(bytes);
  }
  return {};
}

void BM_Encode(benchmark::State& state) {
  const auto f = static_cast<Format>(state.range(0));
  (void)sample();  // build the sample outside the timed loop
  std::size_t size = 0;
  for (auto _ : state) {
    auto bytes = encode(f);
    size = bytes.size();
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sample().text_bytes));
  state.counters["encoded_MB"] = static_cast<double>(size) / 1e6;
}

void BM_Decode(benchmark::State& state) {
  const auto f = static_cast<Format>(state.range(0));
  const auto bytes = encode(f);
  for (auto _ : state) {
    auto value = decode(f, bytes);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sample().text_bytes));
}

void BM_TextParse(benchmark::State& state) {
  const auto text = sample().array.dump();
  for (auto _ : state) {
    auto value = nlohmann::json::parse(text);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sample().text_bytes));
}

#define FORMATS ArgName("format")->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(1.0)
BENCHMARK(BM_Encode)->FORMATS;
BENCHMARK(BM_Decode)->FORMATS;
BENCHMARK(BM_TextParse)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
