#pragma once
// Threading contract: one test thread drives a ClientQueue; it is not shared.
//
// A client-side grpc::CompletionQueue for tests that use gRPC's async client API, with the
// helpers gRPC's own async end2end tests use: Next() with a timeout, and a Verifier-style
// Expect(tag, ok) ... Verify() that checks a set of tags arrives (in any order) with the
// expected ok values. The destructor shuts the queue down and drains it, as gRPC requires.
//
// Declare a ClientQueue after the call objects whose operations it carries (contexts, readers,
// response messages, statuses), so it is drained before they are destroyed: a completion writes
// into them while Next() delivers it.

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

namespace percore::testing {

class ClientQueue {
 public:
  struct Event {
    void* tag;
    bool ok;
  };

  ClientQueue() = default;
  ~ClientQueue() {
    // A test that failed half-way may leave calls open: cancel them so the drain is quick.
    for (grpc::ClientContext* context : cancel_before_drain_) context->TryCancel();
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  ClientQueue(const ClientQueue&) = delete;
  ClientQueue& operator=(const ClientQueue&) = delete;

  grpc::CompletionQueue* cq() { return &cq_; }

  // `context` is cancelled before the queue drains (it must outlive this queue).
  void CancelBeforeDrain(grpc::ClientContext* context) { cancel_before_drain_.push_back(context); }

  // A long-lived call's `context`: its deadline `deadline` from now, and cancelled before the
  // queue drains (it must outlive this queue).
  void Adopt(grpc::ClientContext* context, std::chrono::milliseconds deadline) {
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    CancelBeforeDrain(context);
  }

  // The next event, or nullopt if none arrives within `timeout`.
  std::optional<Event> Next(std::chrono::milliseconds timeout) {
    void* tag = nullptr;
    bool ok = false;
    auto status = cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + timeout);
    if (status != grpc::CompletionQueue::GOT_EVENT) return std::nullopt;
    return Event{tag, ok};
  }

  // Expects `tag` to complete with `ok` at the next Verify().
  ClientQueue& Expect(void* tag, bool ok) {
    expected_[tag] = ok;
    return *this;
  }

  // Waits until every expected tag arrived, in any order; fails on an unexpected tag, a wrong
  // ok, or the timeout.
  ::testing::AssertionResult Verify(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!expected_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      std::optional<Event> event = Next(left.count() > 0 ? left : std::chrono::milliseconds(0));
      if (!event) {
        std::ostringstream out;
        out << "timed out waiting for " << expected_.size() << " tag(s):";
        for (auto& [tag, ok] : expected_) out << " " << tag;
        expected_.clear();
        return ::testing::AssertionFailure() << out.str();
      }
      auto it = expected_.find(event->tag);
      if (it == expected_.end()) {
        expected_.clear();
        return ::testing::AssertionFailure() << "unexpected tag " << event->tag;
      }
      if (it->second != event->ok) {
        bool want = it->second;
        expected_.clear();
        return ::testing::AssertionFailure()
               << "tag " << event->tag << " completed with ok=" << event->ok << ", expected "
               << want;
      }
      expected_.erase(it);
    }
    return ::testing::AssertionSuccess();
  }

  // Succeeds if no event at all arrives within `period`.
  ::testing::AssertionResult VerifyNothingFor(std::chrono::milliseconds period) {
    std::optional<Event> event = Next(period);
    if (event) {
      return ::testing::AssertionFailure()
             << "tag " << event->tag << " (ok=" << event->ok << ") arrived, expected none";
    }
    return ::testing::AssertionSuccess();
  }

 private:
  grpc::CompletionQueue cq_;
  std::map<void*, bool> expected_;
  std::vector<grpc::ClientContext*> cancel_before_drain_;
};

// Tags for the Verifier style: Tag(1), Tag(2), ...
inline void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }

}  // namespace percore::testing
