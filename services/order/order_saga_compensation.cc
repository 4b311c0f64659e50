// The compensating half of OrderSaga (order_saga.h): what gives back a payment, a reservation
// or committed stock, and the cancel of a confirmed order, which is made of those.
#include <cstdio>

#include "core/base/status.h"
#include "core/observe/log.h"
#include "services/order/order_saga.h"
#include "services/order/step_call.h"

namespace percore::order {
namespace {

namespace inv = ::inventory::v1;
namespace pay = ::payment::v1;

// A refund that failed this way fails again however often it is tried: the payment service
// does not know the transaction (its holder lost it), or it was never approved.
bool PermanentRefundFailure(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition ||
         status.code() == StatusCode::kNotFound || status.code() == StatusCode::kInvalidArgument;
}

}  // namespace

void OrderSaga::Compensate(Next next) {
  auto self = shared_from_this();
  if (reserve_unknown_) {
    // The ReserveStock whose answer never came may have held stock all the same: found by the
    // order's key (LocateReservation), it is given back below like any other hold.
    reserve_unknown_ = false;
    LocateReservation(1, kLostReserveLookups,
                      [self, next = std::move(next)] { self->Compensate(next); });
    return;
  }
  auto give_back_stock = [self, next = std::move(next)] {
    if (self->committed_) {
      self->ReturnStock(next);
    } else if (self->held_) {
      self->Release(1, next);
    } else {
      next();
    }
  };
  if (!charged_) {
    give_back_stock();
    return;
  }
  Refund(1, [give_back_stock](bool, bool, std::string) { give_back_stock(); });
}

void OrderSaga::Refund(int attempt, std::function<void(bool, bool, std::string)> next) {
  pay::RefundPaymentRequest request;
  request.set_transaction_id(order().transaction_id());
  auto self = shared_from_this();
  CallWithDeadline<pay::PaymentResult>(
      *env_->shard, CompensationDeadline(), "payment (RefundPayment)",
      [payments = env_->clients.payments, request](const clients::CallOptions& options,
                                                   clients::Done<pay::PaymentResult> done) mutable {
        payments->RefundPayment(std::move(request), options, std::move(done));
      },
      [self, attempt, next](const Status& status, pay::PaymentResult) {
        if (status.ok()) {
          self->charged_ = false;
          next(true, false, "");
          return;
        }
        bool permanent = PermanentRefundFailure(status);
        if (permanent) self->refund_refused_ = true;
        if (attempt < self->env_->options.compensation_attempts && !permanent) {
          self->RetryLater(attempt, [self, attempt, next] { self->Refund(attempt + 1, next); });
          return;
        }
        std::string problem = "the refund of transaction " + self->order().transaction_id() +
                              " failed: payment " + DescribeCallStatus(status);
        self->compensation_problems_.push_back(problem);
        next(false, permanent, problem);
      });
}

void OrderSaga::Release(int attempt, Next next) {
  inv::ReleaseReservationRequest request;
  request.set_reservation_id(order().reservation_id());
  auto self = shared_from_this();
  CallWithDeadline<inv::Reservation>(
      *env_->shard, CompensationDeadline(), "inventory (ReleaseReservation)",
      [inventory = env_->clients.inventory, request](const clients::CallOptions& options,
                                                     clients::Done<inv::Reservation> done) mutable {
        inventory->ReleaseReservation(std::move(request), options, std::move(done));
      },
      [self, attempt, next](const Status& status, inv::Reservation) {
        if (status.ok()) {
          self->held_ = false;
          next();
          return;
        }
        if (status.code() == StatusCode::kFailedPrecondition) {
          // Committed after all (a commit answer lost to its deadline): the units left the
          // stock, so put them back.
          self->held_ = false;
          self->committed_ = true;
          self->ReturnStock(next);
          return;
        }
        if (attempt < self->env_->options.compensation_attempts) {
          self->RetryLater(attempt, [self, attempt, next] { self->Release(attempt + 1, next); });
          return;
        }
        self->compensation_problems_.push_back("the reservation " + self->order().reservation_id() +
                                               " could not be released (inventory " +
                                               DescribeCallStatus(status) +
                                               "); it expires on its own after its ttl");
        next();
      });
}

void OrderSaga::ReturnStock(Next next) {
  if (!committed_) {
    next();
    return;
  }
  if (lines_returned_ > 0 || order().reservation_id().empty()) {
    ReturnLines(std::move(next));  // a line-by-line return a server before this had started
    return;
  }
  ReturnReservation(1, std::move(next));
}

void OrderSaga::ReturnReservation(int attempt, Next next) {
  inv::ReturnReservationRequest request;
  request.set_reservation_id(order().reservation_id());
  auto self = shared_from_this();
  // Idempotent, so it may wait for an inventory that restarts and be asked again: the units go
  // back exactly once, however often (inventory.proto).
  CallWithDeadline<inv::Reservation>(
      *env_->shard, CompensationDeadline(), "inventory (ReturnReservation)",
      [inventory = env_->clients.inventory, request](clients::CallOptions options,
                                                     clients::Done<inv::Reservation> done) mutable {
        options.wait_for_ready = true;
        inventory->ReturnReservation(std::move(request), options, std::move(done));
      },
      [self, attempt, next](const Status& status, inv::Reservation) {
        if (status.code() == StatusCode::kUnimplemented) {
          self->ReturnLines(next);  // an inventory without it
          return;
        }
        if (status.ok() || status.code() == StatusCode::kFailedPrecondition ||
            status.code() == StatusCode::kNotFound) {
          // Returned (now or before); or never committed after all (released or expired:
          // nothing left the stock); or forgotten past its retention (nothing to ask again).
          if (status.code() == StatusCode::kNotFound) {
            self->compensation_problems_.push_back(
                "the reservation " + self->order().reservation_id() +
                " whose stock was to be returned is unknown to inventory: check the stock");
          }
          self->committed_ = false;
          next();
          return;
        }
        if (attempt < self->env_->options.compensation_attempts) {
          self->RetryLater(attempt,
                           [self, attempt, next] { self->ReturnReservation(attempt + 1, next); });
          return;
        }
        // Still committed_: retried until done (order_saga_retry.cc).
        self->compensation_problems_.push_back(
            "the stock of reservation " + self->order().reservation_id() +
            " is not returned yet (inventory " + DescribeCallStatus(status) + "); retrying");
        next();
      });
}

void OrderSaga::ReturnLines(Next next) {
  if (lines_returned_ >= input_.lines.size()) {
    committed_ = false;
    next();
    return;
  }
  size_t line = lines_returned_++;
  // Logged (durable) before the AdjustStock: after a crash here recovery skips this line, so a
  // return may be lost (reported) but is never made twice.
  LogState();
  ThenDurable([self = shared_from_this(), line, next] { self->ReturnLine(line, next); });
}

void OrderSaga::ReturnLine(size_t line, Next next) {
  inv::AdjustStockRequest request;
  request.set_sku(input_.lines[line].sku);
  request.set_delta(input_.lines[line].quantity);
  auto self = shared_from_this();
  // One attempt: AdjustStock is not idempotent, a retry after a lost answer could add twice. So
  // it waits for an unreachable inventory (a restart) instead of failing at once.
  CallWithDeadline<inv::Product>(
      *env_->shard, Clock::now() + env_->options.stock_return_deadline, "inventory (AdjustStock)",
      [inventory = env_->clients.inventory, request](clients::CallOptions options,
                                                     clients::Done<inv::Product> done) mutable {
        options.wait_for_ready = true;
        inventory->AdjustStock(std::move(request), options, std::move(done));
      },
      [self, line, next](const Status& status, inv::Product) {
        if (!status.ok()) {
          const OrderLine& l = self->input_.lines[line];
          self->compensation_problems_.push_back(
              std::to_string(l.quantity) + " units of sku \"" + l.sku +
              "\" could not be returned to stock: inventory " + DescribeCallStatus(status));
        }
        self->ReturnLines(next);
      });
}

void OrderSaga::RetryLater(int attempt, Next again) {
  // 100 ms, 200 ms, 400 ms, ...: a brief outage passes, a long one is reported.
  auto delay = std::chrono::milliseconds(100) * (1 << std::min(attempt - 1, 4));
  env_->shard->RunAfter(delay, std::move(again));
}

void OrderSaga::ReleaseLateReservation(const std::string& reservation_id) {
  // The reservation step had already ended (as DEADLINE_EXCEEDED) when this hold came in, so
  // the order never tracked it: give it back.
  Draft().set_reservation_id(reservation_id);
  held_ = true;
  Release(1, [] {});
}

void OrderSaga::RefundLatePayment(const std::string& transaction_id) {
  // As above, for an approval that came after the payment step ended.
  Draft().set_transaction_id(transaction_id);
  charged_ = true;
  Refund(1, [](bool, bool, std::string) {});
}

void OrderSaga::VoidPaymentByKey(Settled then) {
  pay::VoidPaymentRequest request;
  request.set_idempotency_key(order().id());  // the key Pay() charges with
  CallWithDeadline<pay::PaymentResult>(
      *env_->shard, CompensationDeadline(), "payment (VoidPayment)",
      [payments = env_->clients.payments, request](const clients::CallOptions& options,
                                                   clients::Done<pay::PaymentResult> done) mutable {
        payments->VoidPayment(std::move(request), options, std::move(done));
      },
      [then = std::move(then)](const Status& status, pay::PaymentResult result) {
        then(status, result);
      });
}

void OrderSaga::VoidUntilSettled(int attempt, bool until_charged, Settled settled) {
  if (until_charged && charged_) {
    settled(Status(), pay::PaymentResult());
    return;
  }
  auto self = shared_from_this();
  VoidPaymentByKey([self, attempt, until_charged, settled](const Status& status,
                                                           const pay::PaymentResult& result) {
    if (!status.ok() && status.code() != StatusCode::kInvalidArgument &&
        attempt < self->env_->options.settle_attempts) {
      self->RetryLater(attempt, [self, attempt, until_charged, settled] {
        self->VoidUntilSettled(attempt + 1, until_charged, settled);
      });
      return;
    }
    if (!status.ok()) {
      self->compensation_problems_.push_back(
          "the payment's outcome is unknown: VoidPayment of idempotency key " + self->order().id() +
          " failed (payment " + DescribeCallStatus(status) + "); settle it by hand");
    }
    settled(status, result);
  });
}

void OrderSaga::SettlePayment(Status unknown) {
  auto self = shared_from_this();
  VoidUntilSettled(
      1, false, [self, unknown](const Status& status, const pay::PaymentResult& result) {
        self->payment_settled_ = true;
        if (!status.ok()) {
          // The unknown outcome is already a compensation problem (VoidUntilSettled).
        } else if (result.status() == pay::PaymentResult::PAYMENT_STATUS_REFUNDED) {
          self->Draft().set_transaction_id(result.transaction_id());
          self->settlement_note_ = "the charge " + result.transaction_id() +
                                   " that the processor approved late was refunded";
        } else if (result.status() == pay::PaymentResult::PAYMENT_STATUS_VOIDED) {
          self->settlement_note_ =
              "the payment was voided: anything the processor approves later is refunded";
        } else {
          self->settlement_note_ = "the payment was settled as " +
                                   pay::PaymentResult::PaymentStatus_Name(result.status());
        }
        self->OnPaid(unknown, pay::PaymentResult());
      });
}

// ---- The cancel of a confirmed order ----

void OrderSaga::CancelConfirmed() {
  auto self = shared_from_this();
  auto return_stock = [self] {
    self->ReturnStock([self] {
      for (const std::string& problem : self->compensation_problems_) {
        observe::Log(observe::LogLevel::kWarn, "percore: order %s cancelled, but %s\n",
                     self->order().id().c_str(), problem.c_str());
      }
      self->MarkCompensationPending();
      self->Transition(v1::ORDER_STATUS_CANCELLED);
      self->Finish(Status());
      self->KeepCompensating();
    });
  };
  if (!charged_) {
    return_stock();
    return;
  }
  Refund(1, [self, return_stock](bool refunded, bool permanent, std::string error) {
    if (!refunded) {
      self->compensation_problems_.clear();
      self->phase_ = SagaPhase::kSettled;  // stays CONFIRMED: nothing for recovery to carry on
      self->LogState();
      // Only an outage is worth a retry; a refund the payment service refuses for good must
      // not invite the client to try forever.
      self->Finish(permanent
                       ? Status(StatusCode::kFailedPrecondition,
                                "order " + self->order().id() + " stays CONFIRMED: " + error +
                                    "; the payment service cannot refund it, so the order cannot "
                                    "be cancelled")
                       : Status(StatusCode::kUnavailable, "order " + self->order().id() +
                                                              " stays CONFIRMED: " + error +
                                                              "; retry the cancel"));
      return;
    }
    return_stock();
  });
}

}  // namespace percore::order
