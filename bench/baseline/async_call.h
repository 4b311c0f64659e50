#pragma once
// Threading contract: a call is created on, and only ever touched by, the thread polling the
// completion queue it was requested on (async mode has one thread per queue).
//
// The tag every async call hands gRPC: the call object itself, as in gRPC's examples. The queue
// thread passes each event back as Proceed(ok); the call advances its state machine and deletes
// itself on its last event.
//
// PostedCall is that state machine's part every method shares, written once so that each
// ok == false path is handled in one place: the first event is the posted request's (!ok: the
// server is shutting down and no call was matched, so the call is freed; ok: a call arrived, a
// replacement request is posted and the call starts), and the event of the operation after
// Finishing() is the last (sent, or the call died first: freed either way). Any event between
// is a write's (!ok: the stream is gone). Derived classes provide PostNext(), Start() and, if
// they write, OnWriteDone(ok); CRTP, so no call costs a virtual call more than Proceed.

namespace percore::baseline {

class AsyncCall {
 public:
  virtual ~AsyncCall() = default;
  virtual void Proceed(bool ok) = 0;
};

template <class Call>
class PostedCall : public AsyncCall {
 public:
  void Proceed(bool ok) final {
    Call& call = static_cast<Call&>(*this);
    switch (stage_) {
      case Stage::kRequested:
        if (!ok) {  // shutting down: this request was never matched to a call
          delete this;
          return;
        }
        stage_ = Stage::kStarted;
        call.PostNext();  // keep the same number of requests posted
        call.Start();
        return;
      case Stage::kStarted:  // a write finished (ok), or the stream broke (!ok)
        call.OnWriteDone(ok);
        return;
      case Stage::kFinishing:  // sent (ok) or the call died first (!ok): done either way
        delete this;
        return;
    }
  }

 protected:
  // Right before the call's last operation (its Finish): that operation's event frees it.
  void Finishing() { stage_ = Stage::kFinishing; }
  // For calls that never write: no event reaches them between Start and Finish.
  void OnWriteDone(bool /*ok*/) {}

 private:
  enum class Stage { kRequested, kStarted, kFinishing };
  Stage stage_ = Stage::kRequested;
};

}  // namespace percore::baseline
