// input_holder.hpp — keeps a job's input readable for as long as the job may read it (internal;
// reachable because the run templates hold their input in it).
//
// Owned inputs (std::string, a vector, json, any to_json type) are moved in. View inputs
// (std::string_view, std::span<const std::uint8_t>) point at the caller's bytes, which are only
// guaranteed during the call that submitted the job: a run that encodes its input before that
// call returns uses the view as is; anything that reads the input later (a queued pool job, the
// thread backend) calls own() first, which copies the viewed bytes into the holder. A view input
// may also be handed over as its owned buffer (moved in), which the holder keeps; once the input
// is encoded, that buffer can be taken (take_buffer) for the output to be decoded into: its pages
// are already faulted in.
#pragma once

#include <isolate/detail/byte_views.hpp>

#include <optional>
#include <type_traits>
#include <utility>

namespace isolate::detail {

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
  /// Keeps `buffer` (handed over by the caller) and views it.
  explicit ViewInputHolder(Storage&& buffer) noexcept
      : storage_(std::move(buffer)), view_(storage_), owned_(true), handed_over_(true) {}
  /// Copies the viewed bytes (once) and views the copy from now on. Throws std::bad_alloc.
  void own() {
    if (owned_) return;
    storage_.assign(view_.begin(), view_.end());
    view_ = storage_;
    owned_ = true;
  }
  [[nodiscard]] const View& get() const noexcept { return view_; }
  /// The buffer handed over to the holder, moved out (the holder must not be read afterwards), if
  /// there is one and it is of type T; else nullopt.
  template <class T>
  std::optional<T> take_buffer() noexcept {
    if constexpr (std::is_same_v<T, Storage>) {
      if (handed_over_) return std::optional<T>(std::move(storage_));
    }
    return std::nullopt;
  }

 private:
  Storage storage_;
  View view_;
  bool owned_ = false;
  bool handed_over_ = false;
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
