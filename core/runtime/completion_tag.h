#pragma once
// Threading contract: a tag is completed on the thread of the shard whose completion queue
// delivered it.
//
// Every `void* tag` handed to gRPC is a CompletionTag: a function pointer and its object (the
// asio-grpc shape), so the shard loop dispatches without a virtual call or a switch, and each
// operation of a call object has its own tag member.

namespace percore::runtime {

struct CompletionTag {
  using Fn = void (*)(void* self, bool ok);
  Fn fn = nullptr;
  void* self = nullptr;

  void Complete(bool ok) { fn(self, ok); }
};

// Binds a member function as a tag handler: CompletionTag{&OnTag<T, &T::OnWrite>, this}.
template <class T, void (T::*Method)(bool)>
void OnTag(void* self, bool ok) {
  (static_cast<T*>(self)->*Method)(ok);
}

}  // namespace percore::runtime
