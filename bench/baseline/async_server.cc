#include "bench/baseline/async_server.h"

#include <chrono>

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_list_users_call.h"
#include "bench/baseline/async_unary_call.h"
#include "bench/baseline/async_unimplemented_call.h"
#include "bench/baseline/ceiling_get_user_call.h"
#include "bench/baseline/ceiling_list_users_call.h"

namespace percore::baseline {

namespace {

std::unique_ptr<AsyncUserService> MakeService(bool ceiling, bool stream_ceiling) {
  if (stream_ceiling) return std::make_unique<StreamCeilingUserService>();
  if (ceiling) return std::make_unique<CeilingUserService>();
  return std::make_unique<AsyncUserService>();
}

}  // namespace

AsyncServer::AsyncServer(UserStore* store, int queues, bool ceiling, bool stream_ceiling)
    : store_(store),
      queue_count_(queues),
      ceiling_(ceiling || stream_ceiling),
      stream_ceiling_(stream_ceiling),
      service_(MakeService(ceiling, stream_ceiling)) {}

AsyncServer::~AsyncServer() { Stop(); }

void AsyncServer::AddTo(grpc::ServerBuilder& builder) {
  builder.RegisterService(service_.get());
  builder.RegisterAsyncGenericService(&unimplemented_);
  for (int i = 0; i < queue_count_; ++i) {
    auto queue = std::make_unique<Queue>();
    queue->cq = builder.AddCompletionQueue();
    queues_.push_back(std::move(queue));
  }
}

void AsyncServer::Start() {
  if (ceiling_) {
    for (size_t i = 0; i < queues_.size(); ++i) {
      ceiling_replies_.push_back(CeilingGetUserCall::MakeReply());
    }
  }
  for (size_t i = 0; i < queues_.size(); ++i) {
    grpc::ServerCompletionQueue* cq = queues_[i]->cq.get();
    for (int n = 0; n < kRequestsPerMethod; ++n) {
      AsyncCreateUserCall::Post(service_.get(), cq, store_);
      if (stream_ceiling_) {
        CeilingListUsersCall::Post(static_cast<StreamCeilingUserService*>(service_.get()), cq,
                                   &ceiling_replies_[i]);
      } else {
        AsyncListUsersCall::Post(service_.get(), cq, store_);
      }
      if (ceiling_) {
        CeilingGetUserCall::Post(static_cast<CeilingUserService*>(service_.get()), cq,
                                 &ceiling_replies_[i]);
      } else {
        AsyncGetUserCall::Post(service_.get(), cq, store_);
      }
    }
    for (int n = 0; n < kUnimplementedRequests; ++n) {
      AsyncUnimplementedCall::Post(&unimplemented_, cq);
    }
  }
  for (auto& queue : queues_) queue->thread = std::thread(Poll, queue.get());
  started_ = true;
}

void AsyncServer::Poll(Queue* queue) {
  bool draining = false;
  void* tag = nullptr;
  bool ok = false;
  // Returns false only once the queue is shut down and empty.
  while (queue->cq->Next(&tag, &ok)) {
    if (tag == &queue->shutdown_alarm) {
      draining = true;
      queue->cq->Shutdown();
    } else if (draining) {
      delete static_cast<AsyncCall*>(tag);  // its last event; no operation may start now
    } else {
      static_cast<AsyncCall*>(tag)->Proceed(ok);
    }
  }
}

void AsyncServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!started_) {
    for (auto& queue : queues_) {  // never polled, nothing posted: drain before destroying
      queue->cq->Shutdown();
      void* tag = nullptr;
      bool ok = false;
      while (queue->cq->Next(&tag, &ok)) {
      }
    }
    return;
  }
  for (auto& queue : queues_) {
    queue->shutdown_alarm.Set(queue->cq.get(), std::chrono::system_clock::now(),
                              &queue->shutdown_alarm);
  }
  for (auto& queue : queues_) queue->thread.join();
}

}  // namespace percore::baseline
