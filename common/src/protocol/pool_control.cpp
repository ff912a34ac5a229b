// pool_control.cpp — PoolControl and PoolSlot: the pool's handshake words (see pool_control.hpp).
#include "protocol/pool_control.hpp"

#include <isolate/errors.hpp>

#include <new>

#include "protocol/layout.hpp"

namespace isolate::detail {

PoolControl PoolControl::create(std::size_t slots) {
  auto memory = SharedMemory::create(sizeof(Doorbell) + slots * sizeof(SlotControl));
  memory.forbid_shrinking();  // shared by every worker of the pool: none may cut it short
  new (memory.data()) Doorbell{};
  for (std::size_t i = 0; i < slots; ++i) new (&slot_control(memory, i)) SlotControl{};
  return PoolControl(std::move(memory));
}

void PoolControl::reset(std::size_t i) noexcept { new (&slot_control(memory_, i)) SlotControl{}; }

bool PoolControl::ready(std::size_t i) noexcept {
  return slot_control(memory_, i).worker_ready.load(std::memory_order_acquire) != 0;
}

bool PoolControl::replacement_asked(std::size_t i) noexcept {
  return slot_control(memory_, i).worker_ready.load(std::memory_order_acquire) == kWorkerAsksReplacement;
}

void PoolControl::send(std::size_t i, std::uint32_t seq) noexcept { slot_control(memory_, i).request.publish(seq); }

bool PoolControl::answered(std::size_t i, std::uint32_t seq) noexcept {
  return slot_control(memory_, i).response_seq.load(std::memory_order_acquire) == seq;
}

std::uint32_t PoolControl::wait_bell(std::uint32_t seen, std::chrono::nanoseconds spin,
                                     std::chrono::nanoseconds timeout) noexcept {
  return doorbell_of(memory_).bell.wait_change(seen, Spin{.duration = spin}, timeout);
}

std::uint32_t PoolControl::bell() noexcept { return doorbell_of(memory_).bell.value.load(std::memory_order_acquire); }

ProgressCell& PoolControl::progress(std::size_t i) noexcept { return slot_control(memory_, i).progress; }

void PoolControl::ring() noexcept { doorbell_of(memory_).bell.ring(); }

PoolSlot PoolSlot::adopt(int fd, std::size_t slot) {
  auto memory = SharedMemory::adopt(fd);
  if (!has_slot(memory, slot))
    throw IsolateError("isolate: the pool's control segment has no slot " + std::to_string(slot));
  return PoolSlot(std::move(memory), slot);
}

void PoolSlot::announce_ready() noexcept {
  slot_control(memory_, slot_).worker_ready.store(kWorkerServes, std::memory_order_release);
  doorbell_of(memory_).bell.ring();
}

std::uint32_t PoolSlot::wait_request(std::uint32_t seen, std::chrono::nanoseconds spin,
                                     std::chrono::nanoseconds timeout) noexcept {
  return slot_control(memory_, slot_).request.wait_change(seen, Spin{.duration = spin, .yield = true}, timeout);
}

ProgressCell& PoolSlot::progress() noexcept { return slot_control(memory_, slot_).progress; }

void PoolSlot::answer(std::uint32_t seq, bool replace_me) noexcept {
  // Before response_seq: a parent that sees the answer sees the request to be replaced.
  if (replace_me) slot_control(memory_, slot_).worker_ready.store(kWorkerAsksReplacement, std::memory_order_release);
  slot_control(memory_, slot_).response_seq.store(seq, std::memory_order_release);
  doorbell_of(memory_).bell.ring();
}

}  // namespace isolate::detail
