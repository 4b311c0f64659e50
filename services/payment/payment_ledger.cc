#include "services/payment/payment_ledger.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

namespace percore::payment {

const PaymentLedger::Entry* PaymentLedger::EntryOfKey(std::string_view idempotency_key) const {
  auto it = by_key_.find(idempotency_key);
  return it == by_key_.end() ? nullptr : it->second;
}

const v1::PaymentResult* PaymentLedger::FindByKey(std::string_view idempotency_key) const {
  const Entry* entry = EntryOfKey(idempotency_key);
  return entry == nullptr ? nullptr : &entry->result;
}

const v1::PaymentResult* PaymentLedger::FindById(std::string_view transaction_id) const {
  auto it = records_.find(transaction_id);
  return it == records_.end() ? nullptr : &it->second.result;
}

const PaymentAttempt* PaymentLedger::AttemptOfKey(std::string_view idempotency_key) const {
  const Entry* entry = EntryOfKey(idempotency_key);
  return entry == nullptr ? nullptr : &entry->attempt;
}

PaymentLedger::Entry& PaymentLedger::Store(PaymentAttempt&& attempt, v1::PaymentResult&& result) {
  auto [it, inserted] = records_.try_emplace(result.transaction_id());
  Entry& entry = it->second;
  if (!inserted) Unindex(entry);  // replaced whole: its key's view goes with it
  entry.attempt = std::move(attempt);
  entry.result = std::move(result);
  // A key indexed to another record moves to this one (the last stored wins, as a put would).
  by_key_.erase(entry.attempt.idempotency_key);
  by_key_.emplace(entry.attempt.idempotency_key, &entry);
  return entry;
}

void PaymentLedger::Unindex(const Entry& entry) {
  auto it = by_key_.find(entry.attempt.idempotency_key);
  if (it != by_key_.end() && it->second == &entry) by_key_.erase(it);
}

const v1::PaymentResult& PaymentLedger::Record(PaymentAttempt&& attempt,
                                               v1::PaymentResult&& result) {
  if (result.status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED) ++charges_;
  return Store(std::move(attempt), std::move(result)).result;
}

Result<v1::PaymentResult> PaymentLedger::Refund(std::string_view transaction_id,
                                                const google::protobuf::Timestamp& now) {
  auto it = records_.find(transaction_id);
  if (it == records_.end()) {
    return {StatusCode::kNotFound,
            "transaction_id \"" + std::string(transaction_id) + "\" not found"};
  }
  v1::PaymentResult* found = &it->second.result;
  switch (found->status()) {
    case v1::PaymentResult::PAYMENT_STATUS_APPROVED:
      found->set_status(v1::PaymentResult::PAYMENT_STATUS_REFUNDED);  // in place: by_key_ views it
      *found->mutable_refunded_at() = now;
      ++refunds_;
      return *found;
    case v1::PaymentResult::PAYMENT_STATUS_REFUNDED:
      return *found;
    default:
      return {StatusCode::kFailedPrecondition,
              "transaction_id \"" + std::string(transaction_id) + "\" was not approved (status " +
                  v1::PaymentResult::PaymentStatus_Name(found->status()) +
                  "), so it cannot be refunded"};
  }
}

v1::PaymentResult PaymentLedger::Void(std::string_view idempotency_key,
                                      const google::protobuf::Timestamp& now) {
  if (const v1::PaymentResult* recorded = FindByKey(idempotency_key)) {
    if (recorded->status() != v1::PaymentResult::PAYMENT_STATUS_APPROVED) return *recorded;
    std::string id = recorded->transaction_id();  // the record is replaced by the refund
    return Refund(id, now).value();               // an approved payment always refunds
  }
  auto in_flight = in_flight_.find(idempotency_key);
  if (in_flight != in_flight_.end() &&
      in_flight->second.answer.when != ProcessorAnswer::When::kNever) {
    in_flight->second.void_on_answer = true;  // the processor's approval is refunded as it lands
  } else {
    // Nothing recorded, and nothing the processor will answer: no charge can appear unless a
    // request still on its way starts one, which the mark refuses.
    VoidKey(idempotency_key);
  }
  v1::PaymentResult voided;
  voided.set_status(v1::PaymentResult::PAYMENT_STATUS_VOIDED);
  voided.set_idempotency_key(std::string(idempotency_key));
  return voided;
}

InFlightPayment* PaymentLedger::FindInFlight(std::string_view idempotency_key) {
  auto it = in_flight_.find(idempotency_key);
  return it == in_flight_.end() ? nullptr : &it->second;
}

InFlightPayment& PaymentLedger::StartInFlight(PaymentAttempt attempt, ProcessorAnswer answer) {
  std::string key = attempt.idempotency_key;
  auto [it, inserted] = in_flight_.try_emplace(std::move(key));
  it->second.attempt = std::move(attempt);
  it->second.answer = std::move(answer);
  return it->second;
}

std::optional<InFlightPayment> PaymentLedger::TakeInFlight(std::string_view idempotency_key) {
  auto it = in_flight_.find(idempotency_key);
  if (it == in_flight_.end()) return std::nullopt;
  InFlightPayment payment = std::move(it->second);
  in_flight_.erase(it);
  return payment;
}

void PaymentLedger::Restore(PaymentAttempt attempt, v1::PaymentResult result) {
  Store(std::move(attempt), std::move(result));
}

bool PaymentLedger::DropWaiter(std::string_view idempotency_key, const Waiter& waiter) {
  auto it = in_flight_.find(idempotency_key);
  if (it == in_flight_.end()) return false;
  std::vector<Waiter>& waiters = it->second.waiters;
  waiters.erase(std::remove(waiters.begin(), waiters.end(), waiter), waiters.end());
  if (waiters.empty() && it->second.answer.when == ProcessorAnswer::When::kNever) {
    in_flight_.erase(it);
    return true;
  }
  return false;
}

size_t PaymentLedger::ScanRecords(
    const std::string* after, size_t limit,
    const std::function<void(const std::string&, const PaymentAttempt&, const v1::PaymentResult&)>&
        fn) const {
  size_t visited = 0;
  for (auto it = after == nullptr ? records_.begin() : records_.upper_bound(*after);
       it != records_.end() && visited < limit; ++it, ++visited) {
    fn(it->first, it->second.attempt, it->second.result);
  }
  return visited;
}

bool PaymentLedger::Forgettable(const v1::PaymentResult& result, int64_t cutoff) {
  const google::protobuf::Timestamp& last =
      result.has_refunded_at() ? result.refunded_at() : result.processed_at();
  return google::protobuf::util::TimeUtil::TimestampToNanoseconds(last) < cutoff;
}

bool PaymentLedger::ForgetSettled(int64_t cutoff, size_t limit, std::string* cursor,
                                  std::vector<std::string>* dropped) {
  size_t seen = 0;
  auto it = cursor->empty() ? records_.begin() : records_.upper_bound(*cursor);
  for (; it != records_.end() && seen < limit; ++seen) {
    *cursor = it->first;
    if (!Forgettable(it->second.result, cutoff)) {
      ++it;
      continue;
    }
    dropped->push_back(it->first);
    Unindex(it->second);
    it = records_.erase(it);
  }
  if (seen < limit) cursor->clear();
  return !cursor->empty();
}

}  // namespace percore::payment
