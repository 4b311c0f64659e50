#include "services/payment/payment_ledger.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

namespace percore::payment {

const v1::PaymentResult* PaymentLedger::FindByKey(std::string_view idempotency_key) const {
  const std::string* id = id_of_key_.Get(idempotency_key);
  return id == nullptr ? nullptr : FindById(*id);
}

const v1::PaymentResult* PaymentLedger::FindById(std::string_view transaction_id) const {
  const Entry* entry = records_.Get(transaction_id);
  return entry == nullptr ? nullptr : &entry->result;
}

const PaymentAttempt* PaymentLedger::AttemptOfKey(std::string_view idempotency_key) const {
  const std::string* id = id_of_key_.Get(idempotency_key);
  if (id == nullptr) return nullptr;
  const Entry* entry = records_.Get(*id);
  return entry == nullptr ? nullptr : &entry->attempt;
}

const v1::PaymentResult& PaymentLedger::Record(PaymentAttempt attempt, v1::PaymentResult result) {
  if (result.status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED) ++charges_;
  std::string id = result.transaction_id();
  id_of_key_.Put(attempt.idempotency_key, id);
  records_.Put(id, Entry{std::move(attempt), std::move(result)});
  return records_.Get(id)->result;
}

Result<v1::PaymentResult> PaymentLedger::Refund(std::string_view transaction_id,
                                                const google::protobuf::Timestamp& now) {
  const Entry* found = records_.Get(transaction_id);
  if (found == nullptr) {
    return {StatusCode::kNotFound,
            "transaction_id \"" + std::string(transaction_id) + "\" not found"};
  }
  switch (found->result.status()) {
    case v1::PaymentResult::PAYMENT_STATUS_APPROVED: {
      Entry refunded = *found;  // rows are replaced whole (TablePartition hands out const rows)
      refunded.result.set_status(v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
      *refunded.result.mutable_refunded_at() = now;
      v1::PaymentResult answer = refunded.result;
      records_.Put(std::string(transaction_id), std::move(refunded));
      ++refunds_;
      return answer;
    }
    case v1::PaymentResult::PAYMENT_STATUS_REFUNDED:
      return found->result;
    default:
      return {StatusCode::kFailedPrecondition,
              "transaction_id \"" + std::string(transaction_id) + "\" was not approved (status " +
                  v1::PaymentResult::PaymentStatus_Name(found->result.status()) +
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
  std::string id = result.transaction_id();
  id_of_key_.Put(attempt.idempotency_key, id);
  records_.Put(id, Entry{std::move(attempt), std::move(result)});
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
  return records_.ScanAfter(after, limit, [&](const std::string& id, const Entry& entry) {
    fn(id, entry.attempt, entry.result);
  });
}

bool PaymentLedger::Forgettable(const v1::PaymentResult& result, int64_t cutoff) {
  const google::protobuf::Timestamp& last =
      result.has_refunded_at() ? result.refunded_at() : result.processed_at();
  return google::protobuf::util::TimeUtil::TimestampToNanoseconds(last) < cutoff;
}

bool PaymentLedger::ForgetSettled(int64_t cutoff, size_t limit, std::string* cursor,
                                  std::vector<std::string>* dropped) {
  const size_t first = dropped->size();
  size_t seen = records_.ScanAfter(cursor->empty() ? nullptr : cursor, limit,
                                   [&](const std::string& id, const Entry& entry) {
                                     *cursor = id;
                                     if (Forgettable(entry.result, cutoff)) dropped->push_back(id);
                                   });
  for (size_t i = first; i < dropped->size(); ++i) {
    const std::string& id = (*dropped)[i];
    id_of_key_.Erase(records_.Get(id)->attempt.idempotency_key);
    records_.Erase(id);
  }
  if (seen < limit) cursor->clear();
  return !cursor->empty();
}

}  // namespace percore::payment
