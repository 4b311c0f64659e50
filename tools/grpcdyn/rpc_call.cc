#include "tools/grpcdyn/rpc_call.h"

namespace percore::grpcdyn {

RpcCall::RpcCall(grpc::GenericStub& stub, grpc::CompletionQueue& cq) : stub_(stub), cq_(cq) {}

grpc::ClientContext& RpcCall::NewContext() {
  // The previous call's reader and context go together: the reader lives in the call's arena.
  unary_.reset();
  stream_.reset();
  context_.emplace();
  return *context_;
}

void RpcCall::Start(const std::string& path, const RpcCallOptions& options, RequestFn requests,
                    RpcCallObserver* observer) {
  options_ = options;
  requests_ = std::move(requests);
  observer_ = observer;
  status_ = grpc::Status();
  sent_ = received_ = 0;
  bytes_received_ = 0;
  reading_ = writing_ = writing_message_ = half_closing_ = alarm_set_ = false;
  reads_done_ = finishing_ = cancelled_by_limit_ = false;

  if (options_.shape == CallShape::kUnary) {
    requests_(0, &write_buffer_);
    unary_ = stub_.PrepareUnaryCall(&*context_, path, write_buffer_, &cq_);
    unary_->StartCall();
    finishing_ = true;
    unary_->Finish(&read_buffer_, &status_, &finish_tag_);
    return;
  }
  if (options_.shape == CallShape::kServerStreaming) options_.send_count = 1;
  stream_ = stub_.PrepareCall(&*context_, path, &cq_);
  stream_->StartCall(&start_tag_);
}

void RpcCall::Cancel() {
  context_->TryCancel();
  if (alarm_set_) alarm_.Cancel();
}

void RpcCall::OnStart(bool ok) {
  if (!ok) {
    // The call never started (the channel is shutting down, for one): only Finish remains,
    // and it reports why.
    reads_done_ = true;
    FinishIfIdle();
    return;
  }
  reading_ = true;
  stream_->Read(&read_buffer_, &read_tag_);
  WriteNext();
}

void RpcCall::WriteNext() {
  if (reads_done_) return FinishIfIdle();  // the server has ended the call: stop sending
  writing_ = true;
  if (sent_ >= options_.send_count) {
    half_closing_ = true;
    writing_message_ = false;
    stream_->WritesDone(&write_tag_);
    return;
  }
  requests_(sent_, &write_buffer_);
  writing_message_ = true;
  if (sent_ + 1 == options_.send_count) {
    // The last message carries the half-close, saving a separate WritesDone round.
    half_closing_ = true;
    stream_->WriteLast(write_buffer_, grpc::WriteOptions(), &write_tag_);
  } else {
    stream_->Write(write_buffer_, &write_tag_);
  }
}

void RpcCall::OnWrite(bool ok) {
  writing_ = false;
  // A failed write means the stream is over: the read side sees that too, then Finish.
  if (!ok || half_closing_) {
    if (ok && writing_message_) ++sent_;
    return FinishIfIdle();
  }
  ++sent_;
  if (options_.send_interval.count() > 0 && !reads_done_) {
    alarm_set_ = true;
    alarm_.Set(&cq_, std::chrono::system_clock::now() + options_.send_interval, &alarm_tag_);
    return;
  }
  WriteNext();
}

void RpcCall::OnAlarm(bool ok) {
  alarm_set_ = false;
  if (!ok || reads_done_) return FinishIfIdle();
  WriteNext();
}

void RpcCall::OnRead(bool ok) {
  if (!ok) {
    reading_ = false;
    reads_done_ = true;
    // Nothing more will be accepted: a pending pause between writes would only delay Finish.
    if (alarm_set_) alarm_.Cancel();
    return FinishIfIdle();
  }
  ++received_;
  bytes_received_ += read_buffer_.Length();
  observer_->OnResponse(read_buffer_);
  if (options_.receive_limit > 0 && received_ >= options_.receive_limit &&
      options_.shape == CallShape::kServerStreaming && !cancelled_by_limit_) {
    cancelled_by_limit_ = true;
    context_->TryCancel();
  }
  stream_->Read(&read_buffer_, &read_tag_);
}

void RpcCall::FinishIfIdle() {
  if (finishing_ || reading_ || writing_ || alarm_set_ || !reads_done_) return;
  finishing_ = true;
  stream_->Finish(&status_, &finish_tag_);
}

void RpcCall::OnFinish(bool) {
  if (options_.shape == CallShape::kUnary) {
    sent_ = 1;
    if (status_.ok()) {
      ++received_;
      bytes_received_ += read_buffer_.Length();
      observer_->OnResponse(read_buffer_);
    }
  }
  if (cancelled_by_limit_ && status_.error_code() == grpc::StatusCode::CANCELLED) {
    // The client chose to stop reading after enough messages: not an error of the server.
    status_ = grpc::Status::OK;
  }
  observer_->OnDone(status_);
}

}  // namespace percore::grpcdyn
