// byte_views.hpp — the byte views a job may take and return, and the buffers they stand for
// (internal; reachable because Job, CancellableIsolate::run and IsolatePool::run, templates,
// choose by them).
//
// A job whose In is std::string_view or std::span<const std::uint8_t> reads its input in place in
// shared memory; one whose Out is a view returns bytes that the worker sends back without a copy
// when they lie in the request (a view of its input). Outside the job a view becomes its owned
// buffer: std::string for std::string_view, std::vector<std::uint8_t> for the span.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace isolate::detail {

template <class T>
inline constexpr bool is_view_v =
    std::is_same_v<T, std::string_view> || std::is_same_v<T, std::span<const std::uint8_t>>;

/// The types that travel raw (bytes, no encoding).
template <class T>
inline constexpr bool is_byte_buffer_v = std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::uint8_t>>;

template <class T>
struct Owned {
  using type = T;
};
template <>
struct Owned<std::string_view> {
  using type = std::string;
};
template <>
struct Owned<std::span<const std::uint8_t>> {
  using type = std::vector<std::uint8_t>;
};
/// What a job's value of type T is outside the job: T itself, or a view's owned buffer.
template <class T>
using owned_t = typename Owned<T>::type;

/// `value` as owned_t<T>: a view's bytes copied into a new buffer; anything else moved.
template <class T>
owned_t<std::remove_cvref_t<T>> to_owned(T&& value) {
  if constexpr (is_view_v<std::remove_cvref_t<T>>) {
    return owned_t<std::remove_cvref_t<T>>(value.begin(), value.end());
  } else {
    return std::forward<T>(value);
  }
}

}  // namespace isolate::detail
