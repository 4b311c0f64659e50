// The recovering half of OrderSaga (order_saga.h): an order a crash left mid-saga, driven to a
// final state once the server serves again, from the state its log recorded (order_journal.h).
#include <cstdio>
#include <string>

#include "core/base/status.h"
#include "core/observe/log.h"
#include "services/order/order_saga.h"
#include "services/order/step_call.h"

namespace percore::order {
namespace {

namespace inv = ::inventory::v1;
namespace pay = ::payment::v1;

bool Transient(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace

std::shared_ptr<OrderSaga> OrderSaga::ForRecovery(Env* env, const Uuid& order_id,
                                                  const OrderState& state) {
  auto saga = std::make_shared<OrderSaga>(env, order_id);
  saga->mode_ = state.phase == SagaPhase::kCancelConfirmed ? Mode::kCancelConfirmed : Mode::kCreate;
  saga->phase_ = state.phase;
  saga->draft_ = state.order;  // committed by its next transition
  saga->order_stored_ = true;
  saga->fingerprint_ = state.fingerprint;
  saga->input_.user_id = *Uuid::Parse(state.order.user_id());
  saga->input_.idempotency_key = state.order.idempotency_key();
  for (const v1::LineItem& item : state.order.items()) {
    saga->input_.lines.push_back(OrderLine{item.sku(), item.quantity()});
  }
  saga->held_ = state.held;
  saga->committed_ = state.committed;
  saga->charged_ = state.charged;
  saga->cancel_requested_ = state.cancel_requested;
  saga->refund_refused_ = state.refund_refused;
  saga->lines_returned_ = state.lines_returned;
  saga->pending_code_ = state.failure_code;
  saga->pending_reason_ = state.failure_reason;
  saga->recovering_ = true;
  saga->last_logged_ = EncodeOrderState(state);
  return saga;
}

void OrderSaga::Resume() {
  if (committed_ && lines_returned_ > 0) {
    // The last stock return started before the crash may or may not have been made: it is not
    // repeated (a double return would sell stock that is not there), so it is reported.
    const OrderLine& line = input_.lines[lines_returned_ - 1];
    compensation_problems_.push_back(
        "the return of " + std::to_string(line.quantity) + " units of sku \"" + line.sku +
        "\" was under way when the server stopped and may not have been made: check the stock");
    observe::Log(observe::LogLevel::kWarn, "percore: order %s: %s\n", order().id().c_str(),
                 compensation_problems_.back().c_str());
  }
  switch (phase_) {
    case SagaPhase::kCancelConfirmed:
      CancelConfirmed();  // the refund is idempotent; the stock returns go on from the log's
      return;
    case SagaPhase::kForward:
      if (order().status() == v1::ORDER_STATUS_PAID) {
        // Paid and held: the sale goes through (CommitReservation is idempotent).
        held_ = true;
        charged_ = !order().transaction_id().empty();
        CommitStock();
        return;
      }
      // PENDING or RESERVED: whatever was taken meanwhile is given back.
      phase_ = cancel_requested_ ? SagaPhase::kCancelling : SagaPhase::kFailing;
      pending_code_ = v1::FAILURE_CODE_SERVICE_UNAVAILABLE;
      pending_reason_ = "the order service restarted while the order was " +
                        v1::OrderStatus_Name(order().status()) +
                        "; nothing stays charged or held for it: order again";
      ResumeCompensation();
      return;
    case SagaPhase::kFailing:
    case SagaPhase::kCancelling:
      ResumeCompensation();
      return;
    case SagaPhase::kCompensationPending:
      // FAILED or CANCELLED already: answered as it is, then retried (order_saga_retry.cc).
      Finish(Status());
      KeepCompensating();
      return;
    case SagaPhase::kSettled:
      Finish(Status());
      return;
  }
}

void OrderSaga::ResumeCompensation() {
  auto self = shared_from_this();
  LocateReservation(1, self->env_->options.settle_attempts, [self] {
    self->VoidByKey([self] {
      if (self->phase_ == SagaPhase::kCancelling) {
        self->EndCancelled();
      } else {
        self->EndFailed(self->pending_code_, self->pending_reason_);
      }
    });
  });
}

void OrderSaga::LocateReservation(int attempt, int max_attempts, Next next) {
  if (!order().reservation_id().empty()) {
    // Known: release it (idempotent; FAILED_PRECONDITION if it was committed, and the units are
    // returned instead).
    if (!committed_) held_ = true;
    next();
    return;
  }
  if (committed_) {
    next();
    return;
  }
  // A reservation made before the crash but not yet logged: ReserveStock is idempotent by its
  // key (the order id), so asking again returns it; if there was none, the hold made now is
  // released with the rest.
  auto self = shared_from_this();
  CallReserveStock(
      CompensationDeadline(), "inventory (ReserveStock by key)",
      [self, attempt, max_attempts, next](const Status& status, inv::Reservation reservation) {
        if (status.ok()) {
          self->Draft().set_reservation_id(reservation.id());
          switch (reservation.state()) {
            case inv::Reservation::RESERVATION_STATE_HELD:
              self->held_ = true;
              break;
            case inv::Reservation::RESERVATION_STATE_COMMITTED:
              self->committed_ = true;
              break;
            default:  // released or expired: nothing held
              break;
          }
          next();
          return;
        }
        if (Transient(status) && attempt < max_attempts) {
          self->RetryLater(attempt, [self, attempt, max_attempts, next] {
            self->LocateReservation(attempt + 1, max_attempts, next);
          });
          return;
        }
        if (Transient(status)) {
          self->compensation_problems_.push_back(
              "a reservation under key " + self->order().id() +
              " could not be looked up (inventory " + DescribeCallStatus(status) +
              "); if it exists it expires on its own after its ttl");
        }
        // Otherwise (out of stock, unknown product): no reservation was made under the
        // key.
        next();
      });
}

void OrderSaga::VoidByKey(Next next) {
  auto self = shared_from_this();
  VoidUntilSettled(1, true, [self, next](const Status& status, const pay::PaymentResult& result) {
    if (status.ok() && result.status() == pay::PaymentResult::PAYMENT_STATUS_REFUNDED) {
      self->Draft().set_transaction_id(result.transaction_id());
      self->settlement_note_ =
          "the charge " + result.transaction_id() + " approved before the restart was refunded";
    }
    next();
  });
}

}  // namespace percore::order
