// Pending compensations of OrderSaga (order_saga.h): a FAILED or CANCELLED order that still
// holds a charge, a hold or committed units because their service stayed unreachable through the
// compensation's attempts. The order is answered as it is, with compensation_pending set (so the
// caller and GetOrder see it), and this saga keeps giving back what is left on a timer, growing
// apart, until nothing is; then the order is stored and logged without the flag. The log names it
// (SagaPhase::kCompensationPending) until then, so a restart carries it on (Resume). Every
// compensating call here is idempotent (RefundPayment, ReleaseReservation, ReturnReservation),
// so asking again after a lost answer changes nothing twice.
#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "core/observe/log.h"
#include "services/order/order_clock.h"
#include "services/order/order_saga.h"

namespace percore::order {

using google::protobuf::util::TimeUtil;

void OrderSaga::MarkCompensationPending() {
  Edit().set_compensation_pending(CompensationPending());  // committed by the next Transition
}

void OrderSaga::KeepCompensating() {
  if (!order().compensation_pending()) return;
  ++env_->compensations_pending;
  // The record keeps its saga while the compensation is pending: a snapshot then holds the
  // pending state this saga logged, not a settled order.
  if (OrderStore::Record* record = record_ ? record_ : env_->store->Find(order_id_)) {
    record_ = record;
    record->saga = shared_from_this();
  }
  observe::Log(observe::LogLevel::kWarn,
               "percore: order %s is %s with a compensation pending; retrying it\n",
               order().id().c_str(), v1::OrderStatus_Name(order().status()).c_str());
  RetryCompensationLater(1);
}

void OrderSaga::RetryCompensationLater(int round) {
  auto delay = env_->options.compensation_retry * (1 << std::min(round - 1, 5));
  env_->shard->RunAfter(delay,
                        [self = shared_from_this(), round] { self->RetryCompensation(round); });
}

void OrderSaga::RetryCompensation(int round) {
  auto self = shared_from_this();
  compensation_problems_.clear();  // only this round's are worth a word
  // One attempt each (the background retry is the loop): refund, then the stock.
  const int once = env_->options.compensation_attempts;
  auto after = [self, round] {
    if (self->CompensationPending()) {
      self->RetryCompensationLater(round + 1);
    } else {
      self->CompensationDone();
    }
  };
  auto give_back_stock = [self, once, after] {
    if (self->committed_) {
      self->ReturnStock(after);
    } else if (self->held_) {
      self->Release(once, after);
    } else {
      after();
    }
  };
  if (charged_ && !refund_refused_) {
    Refund(once, [give_back_stock](bool, bool, std::string) { give_back_stock(); });
  } else {
    give_back_stock();
  }
}

void OrderSaga::CompensationDone() {
  --env_->compensations_pending;
  for (const std::string& problem : compensation_problems_) {  // e.g. the refund refused for good
    observe::Log(observe::LogLevel::kWarn, "percore: order %s: %s\n", order().id().c_str(),
                 problem.c_str());
  }
  observe::Log(observe::LogLevel::kInfo, "percore: order %s: its pending compensation is done\n",
               order().id().c_str());
  // Committed at once, as a Transition that keeps the status (order_saga.h: Edit, Draft).
  v1::Order& order = Edit();
  order.set_compensation_pending(false);
  if (size_t mark = order.failure_reason().find(kCompensationPendingMark);
      mark != std::string::npos) {
    // The problems behind the mark were the pending ones (order_saga_endings.cc: Fail): given
    // back now, so they leave the reason; this round's own problems, if any, replace them.
    std::string reason = order.failure_reason().substr(0, mark) + "; compensated later";
    for (const std::string& problem : compensation_problems_) reason += "; " + problem;
    order.set_failure_reason(std::move(reason));
  }
  int64_t now = std::max(NowNanos(), TimeUtil::TimestampToNanoseconds(order.updated_at()));
  SetTimestamp(order.mutable_updated_at(), now);
  const v1::OrderStatus status = order.status();
  OrderStore::Record& record =
      draft_ ? env_->store->Commit(order_id_, input_.user_id, std::move(*draft_), status, record_)
             : env_->store->Commit(order_id_, input_.user_id, order, status, record_);
  draft_.reset();
  record_ = &record;
  phase_ = SagaPhase::kSettled;
  LogState();
  if (record.saga.get() == this) record.saga = nullptr;  // settled: no saga drives it
}

}  // namespace percore::order
