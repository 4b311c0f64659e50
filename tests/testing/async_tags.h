#pragma once
// Threading contract: plain data; the test thread that drives the completion queue owns it.
//
// Tags for a client-side async call that has several operations in flight on one queue (start,
// read, finish): the call's address plus the operation in its low two bits, so one
// ClientQueue::Next() tells which call and which operation completed.
//
//   struct Watch : testing::OpTags<Watch> { ... };
//   w->reader->StartCall(w->tag(kStart));
//   auto [w, op] = Watch::FromTag(event->tag);

#include <cstdint>
#include <utility>

namespace percore::testing {

template <class Call>
struct OpTags {
  // Up to four operations, numbered 0 to 3.
  using Op = intptr_t;

  void* tag(Op op) { return reinterpret_cast<char*>(static_cast<Call*>(this)) + op; }

  static std::pair<Call*, Op> FromTag(void* tag) {
    static_assert(alignof(Call) >= 4, "tags use the low two bits");
    auto address = reinterpret_cast<intptr_t>(tag);
    return {reinterpret_cast<Call*>(address & ~intptr_t{3}), address & 3};
  }
};

}  // namespace percore::testing
