#pragma once
// Threading contract: a call is created on, and only ever touched by, the thread polling the
// completion queue it was requested on (async mode has one thread per queue).
//
// The tag every async call hands gRPC: the call object itself, as in gRPC's examples. The queue
// thread passes each event back as Proceed(ok); the call advances its state machine and deletes
// itself on its last event. ok == false on the request means the server is shutting down (free
// the call, post nothing); on a later operation it means the call is over (client gone,
// cancelled, or shutdown).

namespace percore::baseline {

class AsyncCall {
 public:
  virtual ~AsyncCall() = default;
  virtual void Proceed(bool ok) = 0;
};

}  // namespace percore::baseline
