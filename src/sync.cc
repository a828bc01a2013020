#include "sync.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace sfroute::internal {
namespace {

// Waiters sleep on these words, each with a bit of its own (a sleep
// slot): 64 slots, 32 per word (a futex bitset is 32 bits wide).
constexpr int kSlotsPerWord = 32;
constexpr int kWords = 2;
constexpr int kSlots = kSlotsPerWord * kWords;

// Each word is bumped before its sleepers are woken, so that a waiter
// about to sleep on the value it read before it looked at its
// Notification does not sleep through the wake-up.
struct alignas(64) SleepWord {
  std::atomic<std::uint32_t> generation{0};
};
SleepWord sleep_words[kWords];

// Which slots live threads hold: a thread takes a free one the first time
// it waits and gives it back when it ends. Past 64 such threads, a thread
// has none: it sleeps on the Notification's own word.
std::atomic<std::uint64_t> slots_held{0};
constexpr int kNoSlot = -1;

class SleepSlot {
 public:
  SleepSlot() {
    std::uint64_t held = slots_held.load(std::memory_order_relaxed);
    while (~held != 0) {
      const int free = __builtin_ctzll(~held);
      if (slots_held.compare_exchange_weak(held, held | (std::uint64_t{1} << free),
                                           std::memory_order_relaxed)) {
        slot_ = free;
        return;
      }
    }
  }
  ~SleepSlot() {
    if (slot_ != kNoSlot) {
      slots_held.fetch_and(~(std::uint64_t{1} << slot_), std::memory_order_relaxed);
    }
  }
  int slot() const { return slot_; }

 private:
  int slot_ = kNoSlot;
};

int ThisThreadSlot() {
  thread_local const SleepSlot slot;
  return slot.slot();
}

long Futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value, const timespec* deadline,
           std::uint32_t bits) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, value, deadline, nullptr,
                 bits);
}

// Wakes the sleepers of the slots in `slots`: one system call per word.
void WakeSlots(std::uint64_t slots) {
  for (int word = 0; word < kWords; ++word) {
    const auto bits = static_cast<std::uint32_t>(slots >> (word * kSlotsPerWord));
    if (bits == 0) continue;
    std::atomic<std::uint32_t>& generation = sleep_words[word].generation;
    generation.fetch_add(1, std::memory_order_seq_cst);
    Futex(&generation, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, nullptr, bits);
  }
}

thread_local WakeBatch* this_thread_batch = nullptr;

}  // namespace

void Notification::Notify() {
  state_.store(1, std::memory_order_seq_cst);
  // A waiter marked itself before it looked at the state: it either saw
  // it set, or it is (about to be) asleep and is woken here.
  const std::uint64_t sleepers = sleepers_.load(std::memory_order_seq_cst);
  if (sleepers != 0) {
    if (this_thread_batch != nullptr) {
      this_thread_batch->due_ |= sleepers;
    } else {
      WakeSlots(sleepers);
    }
  }
  if (slotless_waiters_.load(std::memory_order_seq_cst) > 0) {
    Futex(&state_, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, FUTEX_BITSET_MATCH_ANY);
  }
}

bool Notification::WaitUntil(std::chrono::steady_clock::time_point deadline) {
  if (HasBeenNotified()) return true;
  const int slot = ThisThreadSlot();
  const bool forever = deadline == std::chrono::steady_clock::time_point::max();
  timespec at{};
  if (!forever) {
    // steady_clock is CLOCK_MONOTONIC on Linux, the futex's clock here.
    const auto since = deadline.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
    at.tv_sec = static_cast<time_t>(seconds.count());
    at.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds).count());
  }
  // Sleeps on the word and bit of its slot while nothing woke the word
  // since it read `seen` (any wake-up of the word: it looks again), or, with
  // no slot, on the state itself while it is 0.
  std::atomic<std::uint32_t>* word = &state_;
  std::uint32_t bit = FUTEX_BITSET_MATCH_ANY;
  const std::uint64_t mine = slot == kNoSlot ? 0 : std::uint64_t{1} << slot;
  if (slot == kNoSlot) {
    slotless_waiters_.fetch_add(1, std::memory_order_seq_cst);
  } else {
    word = &sleep_words[slot / kSlotsPerWord].generation;
    bit = std::uint32_t{1} << (slot % kSlotsPerWord);
    sleepers_.fetch_or(mine, std::memory_order_seq_cst);
  }
  bool notified = false;
  for (;;) {
    const std::uint32_t seen = slot == kNoSlot ? 0 : word->load(std::memory_order_seq_cst);
    if ((notified = HasBeenNotified())) break;
    const long woke = Futex(word, FUTEX_WAIT_BITSET_PRIVATE, seen, forever ? nullptr : &at, bit);
    if (woke != 0 && errno == ETIMEDOUT) {
      notified = HasBeenNotified();
      break;
    }
  }
  if (slot == kNoSlot) {
    slotless_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  } else {
    // The slot is this thread's alone: no other waiter has its bit.
    sleepers_.fetch_and(~mine, std::memory_order_seq_cst);
  }
  return notified;
}

WakeBatch::WakeBatch() {
  if (this_thread_batch == nullptr) {
    this_thread_batch = this;
    outermost_ = true;
  }
}

WakeBatch::~WakeBatch() {
  if (!outermost_) return;
  this_thread_batch = nullptr;
  if (due_ != 0) WakeSlots(due_);
}

void WakeBatch::WakeDue() {
  WakeBatch* batch = this_thread_batch;
  if (batch == nullptr || batch->due_ == 0) return;
  WakeSlots(batch->due_);
  batch->due_ = 0;
}

}  // namespace sfroute::internal
