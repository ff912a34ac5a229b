// input_holder.hpp — keeps a job's input readable for as long as the job may read it (internal).
//
// Owned inputs (std::string, a vector, json, any to_json type) are moved in. View inputs
// (std::string_view, std::span<const std::uint8_t>) point at the caller's bytes, which are only
// guaranteed during the call that submitted the job: a run that encodes its input before that
// call returns uses the view as is; anything that reads the input later (a queued pool job, the
// thread backend) calls own() first, which copies the viewed bytes into the holder.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace isolate::detail {

/// True for the input types a job reads in place: in the worker they view the request in shared
/// memory (no copy), valid for the duration of the job's call.
template <class T>
inline constexpr bool is_view_v = std::is_same_v<T, std::string_view> || std::is_same_v<T, std::span<const std::uint8_t>>;

/// Thread safety: own() before the holder is shared with another thread; get() from any thread.
template <class In>
class InputHolder {
 public:
  explicit InputHolder(In value) : value_(std::move(value)) {}
  /// Nothing to do: the input is owned already.
  void own() noexcept {}
  [[nodiscard]] const In& get() const noexcept { return value_; }

 private:
  In value_;
};

/// A view input: the caller's bytes until own() copies them into `Storage`.
template <class View, class Storage>
class ViewInputHolder {
 public:
  explicit ViewInputHolder(View value) noexcept : view_(value) {}
  /// Copies the viewed bytes (once) and views the copy from now on. Throws std::bad_alloc.
  void own() {
    if (owned_) return;
    storage_.assign(view_.begin(), view_.end());
    view_ = storage_;
    owned_ = true;
  }
  [[nodiscard]] const View& get() const noexcept { return view_; }

 private:
  View view_;
  Storage storage_;
  bool owned_ = false;
};

template <>
class InputHolder<std::string_view> : public ViewInputHolder<std::string_view, std::string> {
 public:
  using ViewInputHolder::ViewInputHolder;
};

template <>
class InputHolder<std::span<const std::uint8_t>>
    : public ViewInputHolder<std::span<const std::uint8_t>, std::vector<std::uint8_t>> {
 public:
  using ViewInputHolder::ViewInputHolder;
};

}  // namespace isolate::detail
