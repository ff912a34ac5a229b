// codec.hpp — how job inputs and outputs travel through a segment (internal; reachable because
// Job and the run templates encode and decode their In and Out types with it).
//
// std::string and std::vector<std::uint8_t> travel raw: written once into the segment, read
// once out of it; std::string_view and std::span<const std::uint8_t> inputs are read in place,
// and such outputs that view the input are sent back in place (see Job and ByteWriter::refer).
// nlohmann::json and every type with nlohmann to_json/from_json travel as MessagePack (the
// fastest of CBOR, MessagePack and BSON on a large document here; see bench/codec_bench.cpp),
// encoded straight into the segment.
#pragma once

#include <isolate/detail/byte_views.hpp>
#include <isolate/detail/byte_writer.hpp>
#include <isolate/detail/fresh_memory.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace isolate::detail {

/// nlohmann output adapter that appends to a ByteWriter.
class WriterAdapter final : public nlohmann::detail::output_adapter_protocol<std::uint8_t> {
 public:
  explicit WriterAdapter(ByteWriter& writer) noexcept : writer_(writer) {}
  void write_character(std::uint8_t c) override { writer_.write_u8(c); }
  void write_characters(const std::uint8_t* s, std::size_t length) override { writer_.write(s, length); }

 private:
  ByteWriter& writer_;
};

inline void encode_json(const nlohmann::json& value, ByteWriter& writer) {
  nlohmann::detail::binary_writer<nlohmann::json, std::uint8_t>(std::make_shared<WriterAdapter>(writer))
      .write_msgpack(value);
}

inline nlohmann::json decode_json(std::span<const std::byte> bytes) {
  const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
  return nlohmann::json::from_msgpack(first, first + bytes.size());
}

/// True for nlohmann::json and for a default-constructible type with nlohmann to_json and
/// from_json: what the primary Codec sends as MessagePack.
template <class T>
inline constexpr bool is_json_value_v = std::is_same_v<T, nlohmann::json> ||
                                        (std::is_default_constructible_v<T> &&
                                         std::is_constructible_v<nlohmann::json, const T&> &&
                                         requires(const nlohmann::json& j) { j.template get<T>(); });

/// Codec<T>: tag (checked by the worker against the job it runs), encode, decode.
/// The primary template serves nlohmann::json and every type with to_json/from_json. Any other
/// type stops the build with the one message below (its functions then compile to nothing, so
/// that no cascade of nlohmann's template errors follows it).
template <class T>
struct Codec {
  static_assert(is_json_value_v<T>,
                "isolate::Job<In, Out>: In and Out must be std::string, std::vector<std::uint8_t>, std::string_view, "
                "std::span<const std::uint8_t>, nlohmann::json, or a default-constructible type with nlohmann "
                "to_json and from_json, e.g. NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Type, member...): this type has "
                "none of them");
  static constexpr std::string_view tag = "msgpack";
  static void encode(const T& value, ByteWriter& writer) {
    if constexpr (std::is_same_v<T, nlohmann::json>) {
      encode_json(value, writer);
    } else if constexpr (is_json_value_v<T>) {
      encode_json(nlohmann::json(value), writer);
    }
  }
  static T decode(std::span<const std::byte> bytes) {
    if constexpr (std::is_same_v<T, nlohmann::json>) {
      return decode_json(bytes);
    } else if constexpr (is_json_value_v<T>) {
      return decode_json(bytes).template get<T>();
    } else {
      throw std::logic_error("isolate: no codec");  // not reached: the static_assert failed the build
    }
  }
};

template <>
struct Codec<std::string> {
  static constexpr std::string_view tag = "bytes";
  static void encode(const std::string& value, ByteWriter& writer) { writer.write(value.data(), value.size()); }
  static std::string decode(std::span<const std::byte> bytes) {
    std::string value;
    value.reserve(bytes.size());
    prepare_fresh_memory(value.data(), bytes.size());
    value.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return value;
  }
};

template <>
struct Codec<std::vector<std::uint8_t>> {
  static constexpr std::string_view tag = "bytes";
  static void encode(const std::vector<std::uint8_t>& value, ByteWriter& writer) {
    writer.write(value.data(), value.size());
  }
  static std::vector<std::uint8_t> decode(std::span<const std::byte> bytes) {
    const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
    std::vector<std::uint8_t> value;
    value.reserve(bytes.size());
    prepare_fresh_memory(value.data(), bytes.size());
    value.insert(value.end(), first, first + bytes.size());
    return value;
  }
};

/// Views of bytes (see byte_views.hpp): encoded like std::string and the vector (same tag),
/// decoded without a copy as a view of the request in the segment.
template <>
struct Codec<std::string_view> {
  static constexpr std::string_view tag = "bytes";
  static void encode(std::string_view value, ByteWriter& writer) { writer.write(value.data(), value.size()); }
  static std::string_view decode(std::span<const std::byte> bytes) noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
};

template <>
struct Codec<std::span<const std::uint8_t>> {
  static constexpr std::string_view tag = "bytes";
  static void encode(std::span<const std::uint8_t> value, ByteWriter& writer) {
    writer.write(value.data(), value.size());
  }
  static std::span<const std::uint8_t> decode(std::span<const std::byte> bytes) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
  }
};

/// Decodes an output payload as T.
template <class T>
T decode_output(std::span<const std::byte> payload) {
  return Codec<T>::decode(payload);
}

/// Decodes a byte-buffer output payload into `spare` (the caller's input, handed over) when it is
/// large enough and the output fills at least half of it (a small output must not keep a large
/// allocation): its pages are warm, while a new buffer's must be faulted in and zeroed by the
/// kernel, which costs more than the copy itself. Else into a new buffer.
template <class T>
requires is_byte_buffer_v<T> T decode_output(std::span<const std::byte> payload, std::optional<T> spare) {
  if (spare && spare->capacity() >= payload.size() && payload.size() >= spare->capacity() / 2) {
    const auto* first = reinterpret_cast<const typename T::value_type*>(payload.data());
    spare->assign(first, first + payload.size());
    return std::move(*spare);
  }
  return Codec<T>::decode(payload);
}

/// Writes a length-prefixed payload with Codec<T>.
template <class T>
void write_payload(const T& value, ByteWriter& writer) {
  const auto at = writer.reserve_u64();
  const auto before = writer.written();
  Codec<T>::encode(value, writer);
  writer.patch_u64(at, writer.written() - before);
}

}  // namespace isolate::detail
