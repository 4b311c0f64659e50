#pragma once
// Threading contract: construct, AddTo, Start and Stop from the main thread; Stop only after
// grpc::Server::Shutdown has returned (which the queue threads must keep polling through).
//
// Async and ceiling mode, the way gRPC's examples and perf notes describe: N server completion
// queues, one thread each blocking in Next() and calling Proceed(ok) on the tag, with
// kRequestsPerMethod requests posted per method per queue. Calls stay on the queue they were
// requested on. An async generic service on the same queues answers UNIMPLEMENTED for every
// method not served.
//
// Shutdown (GRPC-NOTES.md): Server::Shutdown(deadline) cancels what is left and returns only
// once every call is gone; the queue threads meanwhile free the failed requests and calls. No
// thread posts after that: posting happens only while handling a live call, and a live call
// holds Shutdown up. Then Stop() shuts each queue down, and its thread drains it (Next()
// returns false once empty) and exits; queues are destroyed only after that.

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

  // `ceiling`: GetUser answers one prebuilt User (CeilingGetUserCall). `store` must outlive
  // this.
  AsyncServer(UserStore* store, int queues, bool ceiling);
  ~AsyncServer();  // Stop()
  AsyncServer(const AsyncServer&) = delete;
  AsyncServer& operator=(const AsyncServer&) = delete;

  // Registers the service and adds the completion queues; before builder.BuildAndStart().
  void AddTo(grpc::ServerBuilder& builder);
  // Posts the requests and starts one thread per queue; after BuildAndStart() succeeded.
  void Start();
  // Shuts every queue down, lets its thread drain it, joins. Without Start() (the server never
  // started) it drains the queues itself. Idempotent.
  void Stop();

 private:
  static void Poll(grpc::ServerCompletionQueue* queue);

  UserStore* store_;
  int queue_count_;
  bool ceiling_;
  std::unique_ptr<AsyncUserService> service_;      // a CeilingUserService when ceiling_
  grpc::AsyncGenericService unimplemented_;        // answers every method service_ does not serve
  std::vector<grpc::ByteBuffer> ceiling_replies_;  // one per queue
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace percore::baseline
