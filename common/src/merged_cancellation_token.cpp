// merged_cancellation_token.cpp — a token cancelled by any of its inputs.
//
// The merged state registers on its inputs only while it has callbacks of its own (so a
// long-lived input never accumulates registrations); without callbacks it learns of a cancelled
// input by polling the inputs when asked. Links are created and dropped by sync(), which one
// thread at a time runs until the links match the state (a request counter folds concurrent and
// re-entrant requests into further passes of the running sync).
#include <isolate/cancellation_token.hpp>

#include <algorithm>
#include <atomic>

#include "token_state.hpp"

namespace isolate {
namespace detail {

class MergedState final : public TokenState {
 public:
  explicit MergedState(std::vector<CancellationToken> inputs) : inputs_(std::move(inputs)) {}

  ~MergedState() override { links_.clear(); }

  static const std::shared_ptr<TokenState>& state_of(const CancellationToken& token) { return token.state_; }

 protected:
  void attached() override { sync(); }
  void detached() override { sync(); }

  std::exception_ptr poll() noexcept override {
    for (const auto& input : inputs_) {
      if (auto e = state_of(input)->exception()) return e;
    }
    return nullptr;
  }

 private:
  void sync() {
    if (sync_requests_.fetch_add(1, std::memory_order_acq_rel) != 0) return;
    std::size_t handled = 1;
    for (;;) {
      const bool want_links = !is_cancelled() && callback_count() > 0;
      if (want_links && links_.empty()) {
        std::vector<CancellationCallback> fresh;
        fresh.reserve(inputs_.size());
        std::weak_ptr<TokenState> weak = weak_from_this();
        for (const auto& input : inputs_) {
          fresh.push_back(input.on_cancel([weak](std::exception_ptr e) {
            if (auto self = weak.lock()) self->cancel(std::move(e));
          }));
        }
        links_ = std::move(fresh);
      } else if (!want_links && !links_.empty()) {
        auto old = std::move(links_);
        links_.clear();
        old.clear();  // deregisters; may wait for a link callback running on another thread
      }
      const auto before = sync_requests_.fetch_sub(handled, std::memory_order_acq_rel);
      if (before == handled) return;
      handled = before - handled;
    }
  }

  const std::vector<CancellationToken> inputs_;
  std::atomic<std::size_t> sync_requests_{0};
  std::vector<CancellationCallback> links_;  // touched only by the thread running sync()
};

}  // namespace detail

namespace {

std::shared_ptr<detail::TokenState> make_merged_state(std::vector<CancellationToken> tokens) {
  std::vector<CancellationToken> unique;
  unique.reserve(tokens.size());
  for (auto& token : tokens) {
    if (std::find(unique.begin(), unique.end(), token) == unique.end()) unique.push_back(std::move(token));
  }
  auto state = std::make_shared<detail::MergedState>(std::move(unique));
  (void)state->is_cancelled();  // inputs already cancelled count at construction
  return state;
}

}  // namespace

MergedCancellationToken::MergedCancellationToken(std::vector<CancellationToken> tokens)
    : CancellationToken(make_merged_state(std::move(tokens))) {}

}  // namespace isolate
