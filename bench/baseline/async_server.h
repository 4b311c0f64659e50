#pragma once
// Threading contract: construct, AddTo, Start and Stop from the main thread; Stop only after
// grpc::Server::Shutdown has returned (which the queue threads must keep polling through).
//
// Async and (stream-)ceiling mode, the way gRPC's examples and perf notes describe: N server
// completion queues, one thread each blocking in Next() and calling Proceed(ok) on the tag, with
// kRequestsPerMethod requests posted per method per queue. Calls stay on the queue they were
// requested on. An async generic service on the same queues answers UNIMPLEMENTED for every
// method not served.
//
// Shutdown (GRPC-NOTES.md): Server::Shutdown(deadline) cancels what is left while the queue
// threads keep handling events. It can return with events still queued (a matched request, a
// write failed by the cancellation), whose handling would start operations, and starting one on
// a shut-down queue aborts the process. So each queue is shut down by its own thread: Stop()
// sets an alarm on the queue; the thread that receives it calls Shutdown() on its queue and
// from then on only frees the calls whose events it drains (every call has at most one
// operation outstanding, so its event is its last). Next() returns false once the queue is
// empty; the thread exits, Stop() joins it, and the queue is destroyed after the server.

#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include <memory>
#include <thread>
#include <vector>

#include "bench/baseline/async_user_service.h"
#include "bench/baseline/user_store.h"

namespace percore::baseline {

class AsyncServer {
 public:
  // gRPC's advice (#6504): one posted request per method per queue caps throughput.
  static constexpr int kRequestsPerMethod = 32;
  // Unserved methods are rare; a couple of requests per queue is enough.
  static constexpr int kUnimplementedRequests = 2;

  // `ceiling`: GetUser answers one prebuilt User (CeilingGetUserCall); `stream_ceiling` (implies
  // `ceiling`): ListUsers streams that User page_size times as well (CeilingListUsersCall).
  // `store` must outlive this.
  AsyncServer(UserStore* store, int queues, bool ceiling, bool stream_ceiling = false);
  ~AsyncServer();  // Stop()
  AsyncServer(const AsyncServer&) = delete;
  AsyncServer& operator=(const AsyncServer&) = delete;

  // Registers the services and adds the completion queues; before builder.BuildAndStart().
  void AddTo(grpc::ServerBuilder& builder);
  // Posts the requests and starts one thread per queue; after BuildAndStart() succeeded.
  void Start();
  // Has each queue thread shut its queue down and drain it, and joins them. Without Start()
  // (the server never started) it shuts down and drains the queues itself. Idempotent.
  void Stop();

 private:
  // One completion queue and what only its thread touches.
  struct Queue {
    std::unique_ptr<grpc::ServerCompletionQueue> cq;
    grpc::Alarm shutdown_alarm;  // its address is the "shut down now" tag
    std::thread thread;
  };

  static void Poll(Queue* queue);

  UserStore* store_;
  int queue_count_;
  bool ceiling_;
  bool stream_ceiling_;
  // A CeilingUserService when ceiling_, a StreamCeilingUserService when stream_ceiling_.
  std::unique_ptr<AsyncUserService> service_;
  grpc::AsyncGenericService unimplemented_;        // answers every method service_ does not serve
  std::vector<grpc::ByteBuffer> ceiling_replies_;  // one per queue
  std::vector<std::unique_ptr<Queue>> queues_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace percore::baseline
