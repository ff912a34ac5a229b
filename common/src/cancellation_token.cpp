// cancellation_token.cpp — the CancellationToken and CancellationCallback handles.
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>

#include <stdexcept>

#include "token_state.hpp"

namespace isolate {

CancellationCallback::CancellationCallback() noexcept = default;

CancellationCallback::CancellationCallback(std::shared_ptr<detail::TokenState> state,
                                           std::shared_ptr<detail::CallbackNode> node) noexcept
    : state_(std::move(state)), node_(std::move(node)) {}

CancellationCallback::CancellationCallback(CancellationCallback&& other) noexcept
    : state_(std::move(other.state_)), node_(std::move(other.node_)) {}

CancellationCallback& CancellationCallback::operator=(CancellationCallback&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    node_ = std::move(other.node_);
  }
  return *this;
}

CancellationCallback::~CancellationCallback() { reset(); }

void CancellationCallback::reset() noexcept {
  if (node_) state_->remove(*node_);
  node_.reset();
  state_.reset();
}

CancellationToken::CancellationToken() : state_(std::make_shared<detail::TokenState>()) {}

CancellationToken::CancellationToken(std::shared_ptr<detail::TokenState> state) noexcept : state_(std::move(state)) {}

bool CancellationToken::is_cancelled() const noexcept { return state_->is_cancelled(); }

void CancellationToken::cancel() { cancel(std::make_exception_ptr(CancelledException())); }

void CancellationToken::cancel(std::string reason) {
  cancel(std::make_exception_ptr(CancelledException(std::move(reason))));
}

void CancellationToken::cancel(std::exception_ptr exception) {
  if (!exception) throw std::invalid_argument("CancellationToken::cancel: null exception_ptr");
  state_->cancel(std::move(exception));
}

std::exception_ptr CancellationToken::exception() const noexcept { return state_->exception(); }

void CancellationToken::throw_if_cancelled() const {
  if (auto e = state_->exception()) std::rethrow_exception(e);
}

CancellationCallback CancellationToken::on_cancel(std::function<void(std::exception_ptr)> callback) const {
  if (!callback) throw std::invalid_argument("CancellationToken::on_cancel: empty callback");
  auto node = state_->add(std::move(callback));
  if (!node) return {};
  return CancellationCallback(state_, std::move(node));
}

MergedCancellationToken CancellationToken::merge(std::vector<CancellationToken> others) const {
  others.insert(others.begin(), *this);
  return MergedCancellationToken(std::move(others));
}

bool CancellationToken::has_callbacks() const noexcept { return state_->has_callbacks(); }

std::stop_token CancellationToken::stop_token() const { return state_->stop_token(); }

namespace {
struct CancelOnStop {
  std::weak_ptr<detail::TokenState> state;
  void operator()() const noexcept {
    if (auto s = state.lock()) {
      try {
        s->cancel(std::make_exception_ptr(CancelledException("stop requested")));
      } catch (...) {
        // std::stop_callback callbacks must not throw; a throwing token callback is dropped here.
      }
    }
  }
};
}  // namespace

CancellationToken CancellationToken::from(std::stop_token stop) {
  CancellationToken token;
  if (!stop.stop_possible()) return token;
  auto link = std::make_shared<std::stop_callback<CancelOnStop>>(std::move(stop), CancelOnStop{token.state_});
  token.state_->keep_alive(std::move(link));
  return token;
}

}  // namespace isolate
