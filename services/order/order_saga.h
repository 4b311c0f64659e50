#pragma once
// Threading contract: an OrderSaga lives on the shard that owns its order (OrderStore's shard)
// and runs only there: its client calls are issued from that shard, so their answers and its
// timers come back to it. Waiters are callbacks that may forward to other shards themselves.
//
// The steps of one order across UserService, InventoryService and PaymentService, with their
// compensations (a saga). CreateOrder:
//   GetUser -> PENDING -> ReserveStock -> RESERVED -> ProcessPayment -> PAID
//   -> CommitReservation -> CONFIRMED
// and on any failure: give back what was taken (refund the payment, release the reservation,
// or return committed stock), then FAILED with a failure code and reason. A ReserveStock that
// ended without an answer (deadline, outage) may have held all the same: the compensation finds
// that hold by the order's key (LocateReservation) and releases it. A cancel requested
// while the saga runs takes effect at the next step boundary: compensate, then CANCELLED.
// The cancel of a CONFIRMED order is a saga too: refund, then return the stock, then
// CANCELLED (a refund that fails leaves the order CONFIRMED and the cancel answers
// UNAVAILABLE, so it can be retried). Stock goes back by ReturnReservation (idempotent: the
// units return exactly once however often it is asked), retried.
//
// A compensation that still fails after its attempts (its service unreachable) does not hold
// the order's answer: the order ends FAILED or CANCELLED with `compensation_pending` set, logged
// as SagaPhase::kCompensationPending, and this saga retries what is left (refund, release,
// return) on a timer, growing apart, until it is done (order_saga_retry.cc); recovery carries
// it on after a restart. Env::compensations_pending counts them (/metrics).
//
// Every forward step has a deadline, the earlier of the caller's and the step's budget
// (step_call.h), so a saga always ends. Every caller waiting for the outcome (the CreateOrder
// call, its retries with the same idempotency key, CancelOrder calls) is a waiter, answered
// once with the final order, after its last state is as durable as --fsync says.
//
// Durable (a data directory; order_journal.h): the saga logs the order's state at every
// transition, and waits for that record to be durable before a step recovery must know of:
// PENDING before ReserveStock (so every reservation, payment and commit made for an order
// belongs to an order in the log), the decision to fail or cancel before compensating (so a
// refunded order is never committed after a crash), and the start of a confirmed order's cancel
// before its refund. Recovery (ForRecovery + Resume) finishes what the crash left:
// PAID -> commit; PENDING or RESERVED -> find the reservation by its key (ReserveStock is
// idempotent by it), void the payment by its idempotency key (a charge approved meanwhile is
// refunded), release, FAILED; a compensation or a confirmed order's cancel is carried on.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/durability/store_journal.h"
#include "core/runtime/shard.h"
#include "order/v1/order.pb.h"
#include "services/clients/service_clients.h"
#include "services/order/order_id.h"
#include "services/order/order_journal.h"
#include "services/order/order_options.h"
#include "services/order/order_store.h"
#include "services/order/order_validation.h"

namespace percore::order {

class OrderSaga : public std::enable_shared_from_this<OrderSaga> {
 public:
  using Clock = std::chrono::system_clock;
  // The outcome for one waiter: OK with the order, or an error (no order was created, or a
  // cancel could not be done).
  using Reply = std::function<void(const Status& status, const v1::Order& order)>;

  // What a saga works with: its shard, the shard's store, the clients. Owned by the shard's
  // handler, which outlives its sagas' work (shard timers and client answers end with the
  // shard).
  struct Env {
    runtime::Shard* shard = nullptr;
    OrderStore* store = nullptr;
    clients::ServiceClients clients;
    OrderServiceOptions options;
    // The shard's order log; null or off: in memory only.
    durability::StoreJournal* journal = nullptr;
    // Orders of this shard whose compensation is pending (order_saga_retry.cc), for /metrics.
    size_t compensations_pending = 0;
  };

  // A new order. `order_id` is already claimed under the idempotency key, if there is one;
  // `fingerprint` is input.Fingerprint() then ("" without a key).
  static std::shared_ptr<OrderSaga> ForCreate(Env* env, const Uuid& order_id,
                                              CreateOrderInput&& input, std::string fingerprint,
                                              Clock::time_point deadline);
  // The cancel of a CONFIRMED order that no saga drives.
  static std::shared_ptr<OrderSaga> ForCancel(Env* env, const Uuid& order_id,
                                              OrderStore::Record& record);

  // An order recovery found mid-saga (its logged state); Resume() finishes it.
  static std::shared_ptr<OrderSaga> ForRecovery(Env* env, const Uuid& order_id,
                                                const OrderState& state);

  OrderSaga(Env* env, const Uuid& order_id);

  void Start();
  // The recovered saga's next step (see the top of this file).
  void Resume();
  // A saga stopped by a log it cannot write answers at once (see ThenDurable).
  void AddWaiter(Reply reply) {
    if (stopped_.ok()) {
      waiters_.push_back(std::move(reply));
    } else {
      reply(stopped_, v1::Order());
    }
  }
  // The payload of the last kOrderState this saga logged ("" if none yet): what a snapshot
  // holds for an order a saga drives (never a state the log has not seen).
  const std::string& last_logged_state() const { return last_logged_; }
  // Takes effect at the next step boundary.
  void RequestCancel() { cancel_requested_ = true; }

 private:
  enum class Mode { kCreate, kCancelConfirmed };
  using Next = std::function<void()>;

  Clock::time_point StepDeadline(std::chrono::milliseconds budget) const;
  Clock::time_point CompensationDeadline() const;

  // Create, forward steps.
  void CheckUser();
  void OnUserChecked(const Status& status);
  void Reserve();
  // The order's ReserveStock: its lines under the order id as key (so asking again, as recovery
  // does, finds the same reservation).
  ::inventory::v1::ReserveStockRequest ReserveRequest() const;
  // That ReserveStock, within `deadline`; `on_late` gets a reservation answered after it.
  void CallReserveStock(Clock::time_point deadline, const char* what,
                        std::function<void(const Status&, ::inventory::v1::Reservation&&)> then,
                        std::function<void(::inventory::v1::Reservation)> on_late = nullptr);
  void OnReserved(const Status& status, const ::inventory::v1::Reservation& reservation);
  void Pay();
  void OnPaid(const Status& status, const ::payment::v1::PaymentResult& result);
  void CommitStock();
  void OnCommitted(const Status& status);

  // Endings.
  void EndFailed(v1::FailureCode code, std::string reason);
  void EndCancelled();
  // Once compensated: the transition itself.
  void Fail();
  void Cancel();
  void Transition(v1::OrderStatus status);
  void Finish(const Status& status);  // answers every waiter; the saga is done

  // Compensations: each gives back what the order holds, then calls `next`.
  void Compensate(Next next);
  // `permanent`: the refund failed in a way a retry cannot change (see PermanentRefundFailure).
  void Refund(int attempt,
              std::function<void(bool refunded, bool permanent, std::string error)> next);
  void Release(int attempt, Next next);
  // Returns the committed units: ReturnReservation, retried (ReturnLines for a return a server
  // before it had started line by line, or an inventory that does not know the method).
  void ReturnStock(Next next);
  void ReturnReservation(int attempt, Next next);
  void ReturnLines(Next next);
  void ReturnLine(size_t line, Next next);
  void RetryLater(int attempt, Next again);
  void ReleaseLateReservation(const std::string& reservation_id);
  void RefundLatePayment(const std::string& transaction_id);
  // The payment step ended without a definite answer (deadline, outage, cancel): VoidPayment by
  // the order's idempotency key until the payment service confirms no charge stands, then
  // carry on as OnPaid would with `unknown`.
  void SettlePayment(Status unknown);
  using Settled = std::function<void(const Status&, const ::payment::v1::PaymentResult&)>;
  // One VoidPayment of the order's idempotency key within the compensation deadline.
  void VoidPaymentByKey(Settled then);
  // VoidPaymentByKey until it answers (transient failures retried up to settle_attempts, growing
  // apart), the unknown outcome recorded as a compensation problem when it never does; then
  // `settled` with the last answer. With `until_charged`, a transaction learnt meanwhile ends it
  // (OK, an empty result): the compensation refunds that one. SettlePayment and VoidByKey.
  void VoidUntilSettled(int attempt, bool until_charged, Settled settled);

  // The cancel of a confirmed order.
  void CancelConfirmed();

  // Pending compensations (order_saga_retry.cc). Whether the order still holds something a
  // compensation must give back: a hold, committed units, or a charge not refused for good.
  // In a FAILED order's failure_reason: the compensation problems that follow it were pending
  // when the order was answered; CompensationDone replaces them.
  static constexpr std::string_view kCompensationPendingMark = "; compensation pending: ";
  bool CompensationPending() const { return held_ || committed_ || (charged_ && !refund_refused_); }
  // Before the final transition: sets the order's compensation_pending.
  void MarkCompensationPending();
  // After it (once answered): keeps retrying while something is pending.
  void KeepCompensating();
  void RetryCompensationLater(int round);
  void RetryCompensation(int round);
  // What was pending is given back: the order without compensation_pending, stored and logged.
  void CompensationDone();

  // Durability: logs the order's state (order_journal.h); `next` once it is durable.
  void LogState();
  void ThenDurable(Next next);
  // Recovery: what the crash may have left held or charged beyond what was logged, found by the
  // order's keys, then the compensation it was in (or now starts). LocateReservation also serves
  // Compensate after a ReserveStock that ended without an answer.
  void ResumeCompensation();
  // `max_attempts`: transient failures are retried up to it (the settle attempts at recovery;
  // fewer while a caller waits for the order).
  void LocateReservation(int attempt, int max_attempts, Next next);
  // A lost ReserveStock's lookup while the caller waits: a partition that stays down must not
  // hold the order's answer for the whole settle budget (its hold, if any, then meets its ttl).
  static constexpr int kLostReserveLookups = 4;
  void VoidByKey(Next next);

  Env* env_;
  Uuid order_id_;
  Mode mode_ = Mode::kCreate;
  SagaPhase phase_ = SagaPhase::kForward;
  std::string fingerprint_;                  // of the request, when it has an idempotency key
  std::optional<durability::Lsn> last_lsn_;  // of the last state logged
  std::string last_logged_;                  // its payload
  // kFailing after a restart: the failure the order ends with once compensated.
  v1::FailureCode pending_code_ = v1::FAILURE_CODE_UNSPECIFIED;
  std::string pending_reason_;
  uint32_t lines_returned_ = 0;
  bool recovering_ = false;  // made by ForRecovery: a PAID order's commit is retried
  int commit_attempts_ = 0;  // stock returns started (ReturnStock's cursor)
  CreateOrderInput input_;
  Clock::time_point deadline_ = Clock::time_point::max();  // the caller's
  // The order as this saga has it. Once stored, it is the record's order itself: a forward step
  // changes it just before its Transition, in the same turn, so OrderStore::Commit copies
  // nothing and readers never see a change before its transition. A change that waits for a
  // later transition (a late answer's id; recovery's logged state) goes to a draft instead, a copy
  // of the stored order made then; the next transition commits the draft. Before the first
  // commit the draft is the order being built.
  const v1::Order& order() const { return draft_ ? *draft_ : record_->order; }
  // For a change committed by a Transition in this same turn.
  v1::Order& Edit() { return draft_ ? *draft_ : record_->order; }
  // For a change kept until a later transition.
  v1::Order& Draft();
  std::optional<v1::Order> draft_{std::in_place};  // see order(); engaged or record_ is set
  bool order_stored_ = false;
  OrderStore::Record* record_ = nullptr;  // the order's record once this saga committed it
  bool cancel_requested_ = false;
  // What the order holds and compensation gives back.
  bool held_ = false;       // reservation_id is HELD
  bool committed_ = false;  // the reserved units left the stock
  bool charged_ = false;    // transaction_id is APPROVED
  bool payment_settled_ = false;
  bool refund_refused_ = false;  // the payment service refused the refund for good
  // ReserveStock was sent and ended without an answer (deadline, outage): a hold may stand under
  // the order's key all the same (a remote answer lost to the deadline or a broken connection),
  // so the compensation looks it up by the key and releases it, rather than leaving it to its ttl.
  bool reserve_sent_ = false;
  bool reserve_unknown_ = false;
  std::string settlement_note_;  // what settling found, for the failure reason
  std::vector<std::string> compensation_problems_;
  std::vector<Reply> waiters_;
  // Not OK once a step's record could not be made durable (a full or failing disk): the saga
  // stops there, for recovery to finish after a restart, and its callers are told so.
  Status stopped_;
};

}  // namespace percore::order
