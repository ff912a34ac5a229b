// pool_control.cpp — PoolControl and PoolSlot: the pool's handshake words (see pool_control.hpp).
#include "protocol/pool_control.hpp"

#include <isolate/errors.hpp>

#include <unistd.h>

#include <new>
#include <string>
#include <utility>

#include "protocol/layout.hpp"

namespace isolate::detail {
namespace {

/// A segment of `size` bytes that no worker may cut short (each is shared with one).
SharedMemory sealed_segment(std::size_t size) {
  auto memory = SharedMemory::create(size);
  memory.forbid_shrinking();
  return memory;
}

/// The segment inherited as `fd`, or IsolateError if it is smaller than `size`.
SharedMemory adopt_segment(int fd, std::size_t size, const char* what) {
  auto memory = SharedMemory::adopt(fd);
  if (memory.size() < size) throw IsolateError(std::string("isolate: the pool's ") + what + " segment is too small");
  return memory;
}

}  // namespace

PoolControl PoolControl::create(std::size_t slots) {
  auto bell = sealed_segment(sizeof(Doorbell));
  new (bell.data()) Doorbell{};
  std::vector<SharedMemory> controls;
  controls.reserve(slots);
  for (std::size_t i = 0; i < slots; ++i) {
    controls.push_back(sealed_segment(sizeof(SlotControl)));
    new (controls.back().data()) SlotControl{};
  }
  return PoolControl(std::move(bell), std::move(controls));
}

void PoolControl::reset(std::size_t i) noexcept { new (slots_[i].data()) SlotControl{}; }

bool PoolControl::ready(std::size_t i) noexcept {
  return slot_control(slots_[i]).worker_ready.load(std::memory_order_acquire) != 0;
}

bool PoolControl::replacement_asked(std::size_t i) noexcept {
  return slot_control(slots_[i]).worker_ready.load(std::memory_order_acquire) == kWorkerAsksReplacement;
}

void PoolControl::send(std::size_t i, std::uint32_t seq) noexcept { slot_control(slots_[i]).request.publish(seq); }

bool PoolControl::answered(std::size_t i, std::uint32_t seq) noexcept {
  return slot_control(slots_[i]).response_seq.load(std::memory_order_acquire) == seq;
}

std::uint32_t PoolControl::wait_bell(std::uint32_t seen, std::chrono::nanoseconds spin,
                                     std::chrono::nanoseconds timeout) noexcept {
  return doorbell_of(bell_).bell.wait_change(seen, Spin{.duration = spin}, timeout);
}

std::uint32_t PoolControl::bell() noexcept { return doorbell_of(bell_).bell.value.load(std::memory_order_acquire); }

ProgressCell& PoolControl::progress(std::size_t i) noexcept { return slot_control(slots_[i]).progress; }

void PoolControl::ring() noexcept { doorbell_of(bell_).bell.ring(); }

PoolSlot PoolSlot::adopt(int control_fd, int bell_fd) {
  SharedMemory bell;
  try {
    bell = adopt_segment(bell_fd, sizeof(Doorbell), "doorbell");
  } catch (...) {
    ::close(control_fd);  // both fds are ours
    throw;
  }
  return PoolSlot(adopt_segment(control_fd, sizeof(SlotControl), "control"), std::move(bell));
}

void PoolSlot::announce_ready() noexcept {
  slot_control(control_).worker_ready.store(kWorkerServes, std::memory_order_release);
  doorbell_of(bell_).bell.ring();
}

std::uint32_t PoolSlot::wait_request(std::uint32_t seen, std::chrono::nanoseconds spin,
                                     std::chrono::nanoseconds timeout) noexcept {
  return slot_control(control_).request.wait_change(seen, Spin{.duration = spin, .yield = true}, timeout);
}

ProgressCell& PoolSlot::progress() noexcept { return slot_control(control_).progress; }

void PoolSlot::answer(std::uint32_t seq, bool replace_me) noexcept {
  // Before response_seq: a parent that sees the answer sees the request to be replaced.
  if (replace_me) slot_control(control_).worker_ready.store(kWorkerAsksReplacement, std::memory_order_release);
  slot_control(control_).response_seq.store(seq, std::memory_order_release);
  doorbell_of(bell_).bell.ring();
}

}  // namespace isolate::detail
