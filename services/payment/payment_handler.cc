#include "services/payment/payment_handler.h"

#include <utility>

namespace percore::payment {
namespace {

template <class Req>
Done FinishCall(rpc::UnaryCall<Req, v1::PaymentResult> call) {
  return [call = std::move(call)](Result<v1::PaymentResult> answer) {
    if (answer.ok()) {
      call.Finish(*answer);
    } else {
      call.Finish(answer.status());
    }
  };
}

}  // namespace

void PaymentHandler::ProcessPayment(
    rpc::UnaryCall<v1::ProcessPaymentRequest, v1::PaymentResult> call) {
  uint64_t ticket = service_->ProcessPayment(call.request(), call.deadline(), FinishCall(call));
  if (ticket == 0) return;
  // The client went away while its call waited: drop the wait (and a held payment with it).
  // gRPC may report the cancel before the call reached us (then OnCancel would never run).
  if (call.cancelled()) {
    service_->Abandon(ticket, Status(StatusCode::kCancelled, ""));
    return;
  }
  call.OnCancel([service = service_.get(), ticket] {
    service->Abandon(ticket, Status(StatusCode::kCancelled, ""));
  });
}

void PaymentHandler::RefundPayment(
    rpc::UnaryCall<v1::RefundPaymentRequest, v1::PaymentResult> call) {
  service_->RefundPayment(call.request(), FinishCall(call));
}

void PaymentHandler::GetPayment(rpc::UnaryCall<v1::GetPaymentRequest, v1::PaymentResult> call) {
  service_->GetPayment(call.request(), FinishCall(call));
}

void PaymentHandler::VoidPayment(rpc::UnaryCall<v1::VoidPaymentRequest, v1::PaymentResult> call) {
  service_->VoidPayment(call.request(), FinishCall(call));
}

std::shared_ptr<PaymentHandler::Def> MakePaymentGrpcService(
    std::shared_ptr<PaymentService> service) {
  auto def = std::make_shared<PaymentHandler::Def>(
      rpc::FindServiceDescriptor("payment.v1.PaymentService"), [service](runtime::Shard& shard) {
        service->StartShard(shard);
        return std::make_unique<PaymentHandler>(service);
      });
  def->Unary("ProcessPayment", &PaymentHandler::ProcessPayment);
  def->Unary("RefundPayment", &PaymentHandler::RefundPayment);
  def->Unary("GetPayment", &PaymentHandler::GetPayment);
  def->Unary("VoidPayment", &PaymentHandler::VoidPayment);
  return def;
}

std::shared_ptr<PaymentHandler::Def> MakePaymentService(PaymentServiceOptions options) {
  return MakePaymentGrpcService(std::make_shared<PaymentService>(options));
}

}  // namespace percore::payment
