#include "services/order/order_saga.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "core/base/status.h"
#include "services/order/order_clock.h"
#include "services/order/step_call.h"

namespace percore::order {
namespace {

namespace inv = ::inventory::v1;
namespace pay = ::payment::v1;

// The reservation's unit price of `sku` (from its last line for it), or nullptr. A linear walk:
// an order has at most kMaxLineItems lines, mostly one, and a map cost an allocation and a copy
// of each sku per order.
const commerce::v1::Money* PriceOf(const inv::Reservation& reservation, std::string_view sku) {
  for (int i = reservation.lines_size() - 1; i >= 0; --i) {
    if (reservation.lines(i).sku() == sku) return &reservation.lines(i).unit_price();
  }
  return nullptr;
}

bool Transient(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace

OrderSaga::OrderSaga(Env* env, const Uuid& order_id) : env_(env), order_id_(order_id) {}

std::shared_ptr<OrderSaga> OrderSaga::ForCreate(Env* env, const Uuid& order_id,
                                                CreateOrderInput&& input, std::string fingerprint,
                                                Clock::time_point deadline) {
  auto saga = std::make_shared<OrderSaga>(env, order_id);
  saga->mode_ = Mode::kCreate;
  saga->fingerprint_ = std::move(fingerprint);
  saga->input_ = std::move(input);
  saga->deadline_ = deadline;
  return saga;
}

std::shared_ptr<OrderSaga> OrderSaga::ForCancel(Env* env, const Uuid& order_id,
                                                OrderStore::Record& record) {
  auto saga = std::make_shared<OrderSaga>(env, order_id);
  saga->mode_ = Mode::kCancelConfirmed;
  saga->phase_ = SagaPhase::kCancelConfirmed;
  saga->draft_.reset();  // the stored order is the saga's
  saga->record_ = &record;
  saga->input_.idempotency_key = record.order.idempotency_key();
  if (const OrderStore::IdempotencyEntry* entry =
          env->store->FindKey(record.user_id, record.order.idempotency_key())) {
    saga->fingerprint_ = entry->fingerprint;  // logged with the order's state
  }
  saga->order_stored_ = true;
  saga->input_.user_id = record.user_id;
  for (const v1::LineItem& item : record.order.items()) {
    saga->input_.lines.push_back(OrderLine{item.sku(), item.quantity()});
  }
  saga->committed_ = true;
  saga->charged_ = !record.order.transaction_id().empty();
  return saga;
}

OrderSaga::Clock::time_point OrderSaga::StepDeadline(std::chrono::milliseconds budget) const {
  return std::min(deadline_, Clock::now() + budget);
}

OrderSaga::Clock::time_point OrderSaga::CompensationDeadline() const {
  return Clock::now() + env_->options.compensation_deadline;
}

void OrderSaga::Start() {
  if (mode_ == Mode::kCreate) {
    CheckUser();
  } else {
    LogState();  // before the refund: a crash carries the cancel on
    ThenDurable([self = shared_from_this()] { self->CancelConfirmed(); });
  }
}

// ---- CreateOrder, forward steps ----

void OrderSaga::CheckUser() {
  // Only whether the user exists: in process, no User is built for it.
  CallWithDeadline<clients::UserChecked>(
      *env_->shard, StepDeadline(env_->options.user_deadline), "user service (GetUser)",
      [users = env_->clients.users, id = input_.user_id](const clients::CallOptions& options,
                                                         clients::Done<clients::UserChecked> done) {
        users->CheckUser(id, options, std::move(done));
      },
      [self = shared_from_this()](const Status& status, const clients::UserChecked&) {
        self->OnUserChecked(status);
      });
}

void OrderSaga::OnUserChecked(const Status& status) {
  std::string user = input_.user_id.ToString();
  if (!status.ok()) {
    // No order exists yet: the callers get the error, and a retry with the same key starts
    // afresh.
    switch (status.code()) {
      case StatusCode::kNotFound:
        Finish(Status(StatusCode::kNotFound, "user_id " + user + ": no such user"));
        return;
      case StatusCode::kInvalidArgument:
        Finish(Status(StatusCode::kInvalidArgument,
                      "user_id " + user + " was refused by the user service: " + status.message()));
        return;
      case StatusCode::kDeadlineExceeded:
        Finish(Status(StatusCode::kDeadlineExceeded,
                      "user_id " + user + " could not be checked in time (" + status.message() +
                          "); no order was created"));
        return;
      default:
        Finish(Status(StatusCode::kUnavailable,
                      "user_id " + user + " could not be checked: user service " +
                          DescribeCallStatus(status) + "; no order was created"));
        return;
    }
  }
  int64_t now = NowNanos();
  v1::Order& order = Edit();
  order.set_id(order_id_.ToString());
  order.set_user_id(std::move(user));  // its last use
  for (const OrderLine& line : input_.lines) {
    v1::LineItem* item = order.add_items();
    item->set_sku(line.sku);
    item->set_quantity(line.quantity);
  }
  order.set_idempotency_key(input_.idempotency_key);
  SetTimestamp(order.mutable_created_at(), now);
  Transition(v1::ORDER_STATUS_PENDING);
  ThenDurable([self = shared_from_this()] { self->Reserve(); });
}

inv::ReserveStockRequest OrderSaga::ReserveRequest() const {
  inv::ReserveStockRequest request;
  request.set_reservation_key(order().id());
  for (const OrderLine& line : input_.lines) {
    inv::StockLine* stock = request.add_lines();
    stock->set_sku(line.sku);
    stock->set_quantity(line.quantity);
  }
  request.mutable_ttl()->set_seconds(env_->options.reservation_ttl.count());
  return request;
}

void OrderSaga::CallReserveStock(Clock::time_point deadline, const char* what,
                                 std::function<void(const Status&, inv::Reservation&&)> then,
                                 std::function<void(inv::Reservation)> on_late) {
  CallWithDeadline<inv::Reservation>(
      *env_->shard, deadline, what,
      [inventory = env_->clients.inventory, request = ReserveRequest()](
          const clients::CallOptions& options, clients::Done<inv::Reservation> done) mutable {
        inventory->ReserveStock(std::move(request), options, std::move(done));
      },
      std::move(then), std::move(on_late));
}

void OrderSaga::Reserve() {
  auto self = shared_from_this();
  Clock::time_point deadline = StepDeadline(env_->options.inventory_deadline);
  reserve_sent_ = deadline > Clock::now();  // with no time left, nothing is sent
  CallReserveStock(
      deadline, "inventory (ReserveStock)",
      [self](const Status& status, const inv::Reservation& reservation) {
        self->OnReserved(status, reservation);
      },
      [self](inv::Reservation late) { self->ReleaseLateReservation(late.id()); });
}

void OrderSaga::OnReserved(const Status& status, const inv::Reservation& reservation) {
  if (!status.ok()) {
    reserve_unknown_ = reserve_sent_ && Transient(status);
    if (cancel_requested_) {
      EndCancelled();
      return;
    }
    switch (status.code()) {
      case StatusCode::kFailedPrecondition:
        EndFailed(v1::FAILURE_CODE_OUT_OF_STOCK, "out of stock: " + status.message());
        return;
      case StatusCode::kNotFound:
        EndFailed(v1::FAILURE_CODE_UNKNOWN_PRODUCT, "unknown product: " + status.message());
        return;
      case StatusCode::kUnavailable:
      case StatusCode::kDeadlineExceeded:
        EndFailed(v1::FAILURE_CODE_SERVICE_UNAVAILABLE,
                  "stock could not be reserved: inventory " + DescribeCallStatus(status));
        return;
      default:
        EndFailed(v1::FAILURE_CODE_INTERNAL,
                  "stock could not be reserved: inventory " + DescribeCallStatus(status));
        return;
    }
  }
  held_ = true;
  v1::Order& order = Edit();  // committed by the Transition below, in this turn
  order.set_reservation_id(reservation.id());
  std::string currency;
  bool mixed = false;
  bool overflow = false;
  int64_t total = 0;
  for (v1::LineItem& item : *order.mutable_items()) {
    const commerce::v1::Money* price = PriceOf(reservation, item.sku());
    if (price == nullptr) {
      std::string reason = "the reservation has no line for sku \"" + item.sku() + "\"";
      Transition(v1::ORDER_STATUS_RESERVED);  // `item` may be a draft's, gone after it
      EndFailed(v1::FAILURE_CODE_INTERNAL, std::move(reason));
      return;
    }
    *item.mutable_unit_price() = *price;
    if (currency.empty()) currency = price->currency();
    if (price->currency() != currency) mixed = true;
    int64_t line_total = 0;
    if (__builtin_mul_overflow(price->amount_minor(), item.quantity(), &line_total) ||
        __builtin_add_overflow(total, line_total, &total)) {
      overflow = true;
    }
  }
  if (!mixed && !overflow) {
    order.mutable_total()->set_amount_minor(total);
    order.mutable_total()->set_currency(currency);
  }
  Transition(v1::ORDER_STATUS_RESERVED);
  if (cancel_requested_) {
    EndCancelled();
  } else if (mixed) {
    EndFailed(v1::FAILURE_CODE_MIXED_CURRENCIES,
              "the items are priced in different currencies; order them separately");
  } else if (overflow) {
    EndFailed(v1::FAILURE_CODE_INTERNAL, "the order total does not fit in 64 bits");
  } else if (total == 0) {
    Transition(v1::ORDER_STATUS_PAID);  // nothing to charge
    CommitStock();
  } else {
    Pay();
  }
}

void OrderSaga::Pay() {
  pay::ProcessPaymentRequest request;
  request.set_order_id(order().id());
  *request.mutable_amount() = order().total();
  request.mutable_method()->set_token(input_.payment_token);
  request.set_idempotency_key(order().id());  // one charge per order, whatever is retried
  auto self = shared_from_this();
  CallWithDeadline<pay::PaymentResult>(
      *env_->shard, StepDeadline(env_->options.payment_deadline), "payment (ProcessPayment)",
      [payments = env_->clients.payments, request = std::move(request)](
          const clients::CallOptions& options, clients::Done<pay::PaymentResult> done) mutable {
        payments->ProcessPayment(std::move(request), options, std::move(done));
      },
      [self](const Status& status, const pay::PaymentResult& result) {
        self->OnPaid(status, result);
      },
      [self](pay::PaymentResult late) {
        if (late.status() == pay::PaymentResult::PAYMENT_STATUS_APPROVED) {
          self->RefundLatePayment(late.transaction_id());
        }
      });
}

void OrderSaga::OnPaid(const Status& status, const pay::PaymentResult& result) {
  if (status.ok() && result.status() == pay::PaymentResult::PAYMENT_STATUS_APPROVED) {
    charged_ = true;
    Edit().set_transaction_id(result.transaction_id());  // committed by the Transition below
    Transition(v1::ORDER_STATUS_PAID);
    if (cancel_requested_) {
      EndCancelled();
    } else {
      CommitStock();
    }
    return;
  }
  if (!status.ok() && status.code() != StatusCode::kInvalidArgument && !payment_settled_) {
    // The processor may have approved (or may still approve) a charge the order never heard
    // of: the caller's deadline bounds how long the caller waits, not whether the books balance.
    SettlePayment(status);
    return;
  }
  if (cancel_requested_) {
    EndCancelled();
    return;
  }
  if (status.ok()) {
    if (result.status() == pay::PaymentResult::PAYMENT_STATUS_DECLINED) {
      std::string why = result.decline_reason().empty() ? "declined" : result.decline_reason();
      EndFailed(v1::FAILURE_CODE_PAYMENT_DECLINED, "payment declined: " + why);
    } else {
      EndFailed(v1::FAILURE_CODE_INTERNAL,
                "payment answered " + pay::PaymentResult::PaymentStatus_Name(result.status()));
    }
    return;
  }
  switch (status.code()) {
    case StatusCode::kDeadlineExceeded:
      EndFailed(v1::FAILURE_CODE_PAYMENT_TIMEOUT,
                "the payment did not complete before its deadline: " + status.message());
      return;
    case StatusCode::kInvalidArgument:
      // The processor refused the method (an unknown token): a refusal, not an outage.
      EndFailed(v1::FAILURE_CODE_PAYMENT_DECLINED, "payment method refused: " + status.message());
      return;
    default:
      EndFailed(v1::FAILURE_CODE_SERVICE_UNAVAILABLE, "payment " + DescribeCallStatus(status));
      return;
  }
}

void OrderSaga::CommitStock() {
  inv::CommitReservationRequest request;
  request.set_reservation_id(order().reservation_id());
  // No late-success handler: if a commit lands after its deadline, the release of the
  // compensation answers FAILED_PRECONDITION and the stock is returned instead (Release()).
  CallWithDeadline<inv::Reservation>(
      *env_->shard, StepDeadline(env_->options.inventory_deadline), "inventory (CommitReservation)",
      [inventory = env_->clients.inventory, request = std::move(request)](
          const clients::CallOptions& options, clients::Done<inv::Reservation> done) mutable {
        inventory->CommitReservation(std::move(request), options, std::move(done));
      },
      [self = shared_from_this()](const Status& status, const inv::Reservation&) {
        self->OnCommitted(status);
      });
}

void OrderSaga::OnCommitted(const Status& status) {
  if (status.ok()) {
    held_ = false;
    committed_ = true;
    Transition(v1::ORDER_STATUS_CONFIRMED);
    if (cancel_requested_) {
      EndCancelled();  // refund and return the stock
    } else {
      Finish(Status());
    }
    return;
  }
  if (cancel_requested_) {
    EndCancelled();
    return;
  }
  if (recovering_ && Transient(status) && ++commit_attempts_ < env_->options.settle_attempts) {
    // Paid before a crash: the sale goes through once inventory answers again.
    RetryLater(commit_attempts_, [self = shared_from_this()] { self->CommitStock(); });
    return;
  }
  v1::FailureCode code =
      Transient(status) ? v1::FAILURE_CODE_SERVICE_UNAVAILABLE : v1::FAILURE_CODE_INTERNAL;
  EndFailed(code, "the reservation could not be committed: inventory " +
                      DescribeCallStatus(status) + "; the payment was refunded");
}

}  // namespace percore::order
