#include "bench/baseline/async_server.h"

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_create_user_call.h"
#include "bench/baseline/async_get_user_call.h"
#include "bench/baseline/async_list_users_call.h"
#include "bench/baseline/async_unimplemented_call.h"
#include "bench/baseline/ceiling_get_user_call.h"

namespace percore::baseline {

AsyncServer::AsyncServer(UserStore* store, int queues, bool ceiling)
    : store_(store),
      queue_count_(queues),
      ceiling_(ceiling),
      service_(ceiling ? std::make_unique<CeilingUserService>()
                       : std::make_unique<AsyncUserService>()) {}

AsyncServer::~AsyncServer() { Stop(); }

void AsyncServer::AddTo(grpc::ServerBuilder& builder) {
  builder.RegisterService(service_.get());
  builder.RegisterAsyncGenericService(&unimplemented_);
  for (int i = 0; i < queue_count_; ++i) queues_.push_back(builder.AddCompletionQueue());
}

void AsyncServer::Start() {
  if (ceiling_) {
    for (size_t i = 0; i < queues_.size(); ++i) {
      ceiling_replies_.push_back(CeilingGetUserCall::MakeReply());
    }
  }
  for (size_t i = 0; i < queues_.size(); ++i) {
    grpc::ServerCompletionQueue* queue = queues_[i].get();
    for (int n = 0; n < kRequestsPerMethod; ++n) {
      AsyncCreateUserCall::Post(service_.get(), queue, store_);
      AsyncListUsersCall::Post(service_.get(), queue, store_);
      if (ceiling_) {
        CeilingGetUserCall::Post(static_cast<CeilingUserService*>(service_.get()), queue,
                                 &ceiling_replies_[i]);
      } else {
        AsyncGetUserCall::Post(service_.get(), queue, store_);
      }
    }
    for (int n = 0; n < kUnimplementedRequests; ++n) {
      AsyncUnimplementedCall::Post(&unimplemented_, queue);
    }
  }
  for (auto& queue : queues_) threads_.emplace_back(Poll, queue.get());
}

void AsyncServer::Poll(grpc::ServerCompletionQueue* queue) {
  void* tag = nullptr;
  bool ok = false;
  // Returns false only once the queue is shut down and empty: the drain.
  while (queue->Next(&tag, &ok)) static_cast<AsyncCall*>(tag)->Proceed(ok);
}

void AsyncServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& queue : queues_) queue->Shutdown();
  if (threads_.empty()) {
    for (auto& queue : queues_) Poll(queue.get());  // never polled: drain before destroying
  }
  for (auto& thread : threads_) thread.join();
}

}  // namespace percore::baseline
