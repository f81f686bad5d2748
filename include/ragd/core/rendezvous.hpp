// Rendezvous<T, Note>: "wait for the reply with this id", the one idiom for it. A coroutine
// enters an id, starts whatever will produce the reply (an XADD, a publish), and waits on
// its own executor under a deadline; whoever receives the reply (a stream reader on
// another strand or thread) delivers it by id. The waiter is woken through a Handoff
// (await.hpp), so nothing is spawned and a cancelled waiter leaves at once.
//
// A Note is a small record beside each wait that the producing side may fill in while the
// id is waited for (the stream entry id of a queued job): the waiter gets it back when it
// leaves, whether or not a reply came. A delivery wins over a deadline that passes at the
// same moment: a reply that arrived before the waiter left is returned.
//
// Thread-safety: every member function may be called from any thread concurrently (one
// mutex, held for map operations only); wait() runs on the executor given to enter().
#pragma once

#include "ragd/core/await.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

namespace ragd {

template <class T, class Note = std::monostate>
class Rendezvous {
  struct Entry : Handoff<T> {
    using Handoff<T>::Handoff;
    Note note;
    bool delivered = false;  // under the Rendezvous's mutex
  };

 public:
  // What a wait ended with: the reply when one came (value set, waited == done, even if the
  // deadline passed meanwhile), else timed_out or cancelled; and the note either way.
  struct Outcome {
    Waited waited = Waited::cancelled;
    std::optional<T> value;
    Note note;
  };

  // One entered id; leaving (wait() or destruction) forgets it. Move-only.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        leave();
        owner_ = std::exchange(other.owner_, nullptr);
        id_ = std::move(other.id_);
        entry_ = std::move(other.entry_);
      }
      return *this;
    }
    ~Ticket() { leave(); }
    // False when the id was already waited for (nothing was entered).
    explicit operator bool() const { return entry_ != nullptr; }

   private:
    friend class Rendezvous;
    Ticket(Rendezvous* owner, std::string id, std::shared_ptr<Entry> entry)
        : owner_(owner), id_(std::move(id)), entry_(std::move(entry)) {}
    void leave() {
      if (owner_) owner_->forget(id_, entry_.get());
      owner_ = nullptr;
    }
    Rendezvous* owner_ = nullptr;
    std::string id_;
    std::shared_ptr<Entry> entry_;
  };

  Rendezvous() = default;
  Rendezvous(const Rendezvous&) = delete;
  Rendezvous& operator=(const Rendezvous&) = delete;

  // Enters `id` for a coroutine that will wait on `waiter`; an empty Ticket when `id` is
  // already waited for.
  Ticket enter(std::string id, boost::asio::any_io_executor waiter) {
    auto entry = std::make_shared<Entry>(std::move(waiter));
    std::lock_guard lock(mutex_);
    if (!entries_.emplace(id, entry).second) return Ticket();
    return Ticket(this, std::move(id), std::move(entry));
  }

  // Waits for the ticket's reply for at most `timeout`, then leaves (the ticket is empty after).
  boost::asio::awaitable<Outcome> wait(Ticket& ticket, std::chrono::milliseconds timeout) {
    std::shared_ptr<Entry> entry = ticket.entry_;
    Outcome out;
    out.waited = co_await Handoff<T>::wait(entry, timeout);
    bool delivered = false;
    {
      std::lock_guard lock(mutex_);
      forget_locked(ticket.id_, entry.get());
      ticket.owner_ = nullptr;
      delivered = entry->delivered;
      out.note = std::move(entry->note);
    }
    if (delivered) {
      out.waited = Waited::done;
      out.value.emplace(std::move(entry->value()));
    }
    co_return out;
  }

  // Hands `value` to the waiter of `id`; false when nobody waits for it (gone, or already
  // answered: the first delivery wins).
  bool deliver(const std::string& id, T value) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->delivered) return false;
    it->second->delivered = true;
    it->second->set(std::move(value));
    return true;
  }

  // Calls f(Note&) for the waiter of `id` (under the lock: keep it short); false when
  // nobody waits for it.
  template <class F>
  bool annotate(const std::string& id, F&& f) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    f(it->second->note);
    return true;
  }

  // Hands a copy of `value` to every waiter not yet answered (shutdown, a failure that
  // ends every wait).
  void deliver_all(const T& value) {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : entries_) {
      if (entry->delivered) continue;
      entry->delivered = true;
      entry->set(value);
    }
  }

  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  void forget(const std::string& id, const Entry* entry) {
    std::lock_guard lock(mutex_);
    forget_locked(id, entry);
  }
  void forget_locked(const std::string& id, const Entry* entry) {
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.get() == entry) entries_.erase(it);
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace ragd
