// How an OrderSaga (order_saga.h) ends and what it records on the way: each transition stored
// and logged, the decision to fail or cancel made durable before compensating, and the callers
// answered once the final state is durable. Threading: order_saga.h.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/observe/log.h"
#include "services/order/order_clock.h"
#include "services/order/order_saga.h"

namespace percore::order {

using google::protobuf::util::TimeUtil;

// ---- Endings ----

void OrderSaga::EndFailed(v1::FailureCode code, std::string reason) {
  // The decision is durable before anything is given back: a crash then never commits an order
  // whose payment was refunded.
  phase_ = SagaPhase::kFailing;
  pending_code_ = code;
  pending_reason_ = reason;
  LogState();
  ThenDurable([self = shared_from_this()] { self->Compensate([self] { self->Fail(); }); });
}

void OrderSaga::Fail() {
  std::string full = pending_reason_;
  if (!settlement_note_.empty()) full += "; " + settlement_note_;
  // What is still pending goes after one mark, so that CompensationDone can replace it once it
  // is given back (order_saga_retry.cc) and the reason does not keep saying "retrying".
  const bool pending = CompensationPending();
  for (size_t i = 0; i < compensation_problems_.size(); ++i) {
    full += pending && i == 0 ? kCompensationPendingMark : std::string_view("; ");
    full += compensation_problems_[i];
  }
  Edit().set_failure_code(pending_code_);  // committed by the Transition below
  Edit().set_failure_reason(full);
  MarkCompensationPending();
  Transition(v1::ORDER_STATUS_FAILED);
  Finish(Status());
  KeepCompensating();
}

void OrderSaga::EndCancelled() {
  phase_ = SagaPhase::kCancelling;
  LogState();
  ThenDurable([self = shared_from_this()] { self->Compensate([self] { self->Cancel(); }); });
}

void OrderSaga::Cancel() {
  if (!settlement_note_.empty()) {
    observe::Log(observe::LogLevel::kWarn, "percore: order %s cancelled; %s\n",
                 order().id().c_str(), settlement_note_.c_str());
  }
  for (const std::string& problem : compensation_problems_) {
    observe::Log(observe::LogLevel::kWarn, "percore: order %s cancelled, but %s\n",
                 order().id().c_str(), problem.c_str());
  }
  MarkCompensationPending();
  Transition(v1::ORDER_STATUS_CANCELLED);
  Finish(Status());
  KeepCompensating();
}

void OrderSaga::Transition(v1::OrderStatus status) {
  v1::Order& order = Edit();
  v1::OrderStatus previous = order_stored_ ? order.status() : v1::ORDER_STATUS_UNSPECIFIED;
  int64_t now = NowNanos();
  if (order.has_updated_at()) {  // never backwards for one order
    now = std::max(now, TimeUtil::TimestampToNanoseconds(order.updated_at()));
  }
  order.set_status(status);
  SetTimestamp(order.mutable_updated_at(), now);
  // The draft moves into the record; the stored order itself is committed in place.
  OrderStore::Record& record =
      draft_ ? env_->store->Commit(order_id_, input_.user_id, std::move(*draft_), previous, record_)
             : env_->store->Commit(order_id_, input_.user_id, order, previous, record_);
  draft_.reset();
  record_ = &record;
  env_->store->CountTransition(record.order);
  if (!order_stored_) record.saga = shared_from_this();
  order_stored_ = true;
  LogState();
}

v1::Order& OrderSaga::Draft() {
  if (!draft_) draft_.emplace(record_->order);
  return *draft_;
}

void OrderSaga::LogState() {
  durability::StoreJournal* journal = env_->journal;
  if (journal == nullptr || !journal->enabled() || !order_stored_) return;
  OrderState state;
  state.order = order();
  state.fingerprint = fingerprint_;
  v1::OrderStatus status = order().status();
  bool settled =
      IsTerminal(status) || (status == v1::ORDER_STATUS_CONFIRMED && phase_ == SagaPhase::kForward);
  state.phase = settled ? SagaPhase::kSettled : phase_;
  if (IsTerminal(status) && order().compensation_pending()) {
    state.phase = SagaPhase::kCompensationPending;  // retried, also after a restart
  }
  state.held = held_;
  state.committed = committed_;
  state.charged = charged_;
  state.cancel_requested = cancel_requested_;
  state.refund_refused = refund_refused_;
  state.lines_returned = lines_returned_;
  state.failure_code = pending_code_;
  state.failure_reason = pending_reason_;
  last_logged_ = EncodeOrderState(state);
  last_lsn_ = journal->Log(kOrderState, last_logged_);
}

void OrderSaga::ThenDurable(Next next) {
  if (env_->journal == nullptr) {
    next();
    return;
  }
  // Not OK when the disk refuses the record or the log closes first (shutdown): the saga stops
  // there — going on would act on a decision a crash could forget — and recovery finishes it
  // after a restart. Its callers get the log's UNAVAILABLE now, not their deadline.
  env_->journal->AfterDurable(
      last_lsn_, [self = shared_from_this(), next = std::move(next)](const Status& durable) {
        if (durable.ok()) {
          next();
          return;
        }
        self->stopped_ = durable;
        std::vector<Reply> waiters = std::move(self->waiters_);
        self->waiters_.clear();
        for (const Reply& reply : waiters) reply(durable, v1::Order());
      });
}

void OrderSaga::Finish(const Status& status) {
  auto self = shared_from_this();  // the store may hold the last reference
  OrderStore& store = *env_->store;
  if (OrderStore::Record* record = record_ ? record_ : store.Find(order_id_);
      record && record->saga == self) {
    record->saga = nullptr;
  }
  if (!input_.idempotency_key.empty()) {
    OrderStore::IdempotencyEntry* entry = store.FindKey(input_.user_id, input_.idempotency_key);
    if (entry && entry->saga == self) {
      if (order_stored_) {
        entry->saga = nullptr;
      } else {
        store.ReleaseKey(input_.user_id, input_.idempotency_key);  // no order: free the key
      }
    }
  }
  std::vector<Reply> waiters = std::move(waiters_);
  waiters_.clear();
  if (env_->journal == nullptr) {  // in memory: answered now, with the order as it is
    for (const Reply& reply : waiters) reply(status, order());
    return;
  }
  // Acknowledged once the final state is as durable as --fsync says; a copy, as a late answer
  // meanwhile (a hold or charge given back) may still change the working order.
  env_->journal->AfterAllDurable(
      [waiters = std::move(waiters), status, order = order()](const Status& durable) {
        // Not durable (the disk is failing, or the log closed at shutdown): not acknowledged,
        // UNAVAILABLE naming the log, as every other write answers then.
        for (const Reply& reply : waiters) {
          if (durable.ok()) {
            reply(status, order);
          } else {
            reply(durable, v1::Order());
          }
        }
      });
}

}  // namespace percore::order
