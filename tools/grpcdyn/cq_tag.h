#pragma once
// Threading contract: a tag completes on the thread that polls the completion queue it was
// handed to; the object it points at must outlive the operation.
//
// Every `void* tag` the tools hand to gRPC is a CqTag: a function pointer and its object (the
// shape of core/runtime's CompletionTag), so a poll loop dispatches with one indirect call and
// each operation of a call object has its own tag member.

namespace percore::grpcdyn {

struct CqTag {
  using Fn = void (*)(void* self, bool ok);
  Fn fn = nullptr;
  void* self = nullptr;

  void Complete(bool ok) { fn(self, ok); }
};

// Binds a member function as a tag handler: CqTag{&OnTag<T, &T::OnWrite>, this}.
template <class T, void (T::*Method)(bool)>
void OnTag(void* self, bool ok) {
  (static_cast<T*>(self)->*Method)(ok);
}

}  // namespace percore::grpcdyn
