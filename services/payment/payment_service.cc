#include "services/payment/payment_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "core/cluster/cluster_placement.h"
#include "services/payment/payment_retention.h"
#include "services/payment/payment_validation.h"

namespace percore::payment {
namespace {
using SystemClock = std::chrono::system_clock;

google::protobuf::Timestamp Now() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock::now().time_since_epoch())
          .count());
}

// How long a call may wait for the processor: until the caller's deadline, at most `max_hold`.
runtime::Clock::time_point HoldUntil(SystemClock::time_point deadline,
                                     std::chrono::milliseconds max_hold) {
  runtime::Clock::time_point steady_now = runtime::Clock::now();
  SystemClock::time_point now = SystemClock::now();
  if (deadline <= now) return steady_now;
  // deadline - now cannot overflow: deadline is at most time_point::max() and now is positive.
  auto remaining = std::chrono::duration_cast<runtime::Clock::duration>(deadline - now);
  return steady_now + std::min<runtime::Clock::duration>(remaining, max_hold);
}

// A client's `done` as the service API's.
Done ClientDone(clients::Done<v1::PaymentResult> done) {
  return [done = std::move(done)](Result<v1::PaymentResult>&& result) {
    if (result.ok()) {
      done(Status(), std::move(result).value());
    } else {
      done(result.status(), v1::PaymentResult());
    }
  };
}

// A durable callback that runs from Close() (after the shards stopped) must not hop anywhere.
bool Serving(const PaymentShard& owner) { return runtime::Shard::Current() == &owner.shard; }

// Answers `reply` with `answer` once `lsn` (or, without one, everything logged so far) is durable.
template <class T, class Reply>
void ReplyDurable(durability::StoreJournal& journal, std::optional<durability::Lsn> lsn,
                  Result<T>&& answer, Reply reply) {
  if (!journal.enabled()) {  // nothing is logged: durable now, no callback to wrap it in
    reply(std::move(answer));
    return;
  }
  // Run once: the answer moves into the reply (no copy of the payment).
  auto then = [answer = std::move(answer),
               reply = std::move(reply)](const Status& durable) mutable {
    if (!durable.ok()) {
      reply(Result<T>(durable));
    } else {
      reply(std::move(answer));
    }
  };
  if (lsn) {
    journal.AfterDurable(lsn, std::move(then));
  } else {
    journal.AfterAllDurable(std::move(then));
  }
}

}  // namespace

Status PaymentService::Recover(size_t shards, std::string* report) {
  int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock::now().time_since_epoch())
          .count();
  Result<std::vector<PaymentRestore>> restore =
      RecoverPayments(options_.durability, shards, now, report);
  if (!restore.ok()) return restore.status();
  restore_ = std::move(*restore);
  return Status();
}

void PaymentService::CloseJournals() {
  shards_.ForEachAfterStop([](PaymentShard& shard) { shard.journal.Close(); });
}

PaymentShard::PaymentShard(runtime::Shard& shard, const PaymentServiceOptions& options)
    : shard(shard),
      processor(options.slow_delay),
      ids(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {}

void PaymentService::StartShard(runtime::Shard& shard) {
  PaymentShard& mine = shards_.Emplace(shard, std::make_unique<PaymentShard>(shard, options_));
  StartPaymentRetention(mine, options_.durability.idempotency_retention);
  if (shard.id() >= restore_.size()) return;
  PaymentRestore restore = std::move(restore_[shard.id()]);
  for (RecoveredPayment& payment : restore.payments) {
    mine.ledger.Restore(std::move(payment.attempt), std::move(payment.result));
  }
  for (const std::string& key : restore.voided_keys) mine.ledger.VoidKey(key);
  mine.moved = std::move(restore.moved);
  if (restore.log) mine.journal.Start(shard, std::move(*restore.log), options_.durability.fsync);
  mine.journal.EnableSnapshots(&mine.snapshot_source, options_.durability.snapshot);  // when on
}

NewTransactionId PaymentService::IdsOf(PaymentShard& owner) {
  return [this, &owner] {
    return owner.ids.Next([this, &owner](const std::string& id) {
      return OwnerOf(id) == owner.shard.id() && cluster::OwnsCommerceKey(id) &&
             !owner.ledger.HasTransactionId(id) && !owner.moved.contains(id);
    });
  };
}

// ---- On the home shard.

uint64_t PaymentService::ProcessPayment(const v1::ProcessPaymentRequest& request,
                                        SystemClock::time_point deadline, Done done) {
  PaymentAttempt attempt;
  if (Status status = ValidateProcessRequest(request, &attempt); !status.ok()) {
    done(std::move(status));
    return 0;
  }
  PaymentShard& home = shards_.local();
  runtime::ShardId owner = OwnerOf(attempt.idempotency_key);
  ProcessorAnswer::When when = home.processor.Answer(attempt.token).when;
  if (when == ProcessorAnswer::When::kNow) {
    // Never waits: a payment in flight has a token the processor answers later, so a duplicate
    // with this token is a mismatch. One hop there and back, no ticket.
    shards_.InvokeOnAsync<Result<Begun>>(
        owner,
        [this, attempt = std::move(attempt)](PaymentShard& there, auto reply) mutable {
          Begin(there, std::move(attempt), Waiter{}, std::move(reply));
        },
        [done = std::move(done)](Result<Begun>&& begun) {
          if (!begun.ok()) {
            done(begun.status());
          } else {
            done(std::move(begun->result));
          }
        });
    return 0;
  }
  bool held = when == ProcessorAnswer::When::kNever;
  if (held && home.shard.draining()) {  // it would only be ended by the drain
    done(Status(StatusCode::kUnavailable, "server is shutting down"));
    return 0;
  }
  uint64_t ticket = home.next_ticket++;
  // Registered before the hop, so a cancel or drain that comes first still finds the call.
  home.waiting.emplace(ticket, PaymentShard::WaitingCall{.done = std::move(done),
                                                         .owner = owner,
                                                         .idempotency_key = attempt.idempotency_key,
                                                         .held = held});
  runtime::Clock::time_point hold_until = HoldUntil(deadline, options_.max_hold);
  shards_.InvokeOnAsync<Result<Begun>>(
      owner,
      [this, attempt = std::move(attempt), waiter = Waiter{home.shard.id(), ticket}](
          PaymentShard& there, auto reply) mutable {
        Begin(there, std::move(attempt), waiter, std::move(reply));
      },
      [this, ticket, hold_until](Result<Begun>&& begun) {
        if (!begun.ok()) {
          Answer(shards_.local(), ticket, begun.status());
        } else if (begun->kind == Begun::kAnswer) {
          Answer(shards_.local(), ticket, std::move(begun->result));
        } else {
          StartDeadline(ticket, hold_until);
        }
      });
  return shards_.local().waiting.contains(ticket) ? ticket : 0;
}

void PaymentService::RefundPayment(const v1::RefundPaymentRequest& request, Done done) {
  if (Status status = ValidateTransactionId(request.transaction_id(), "transaction_id");
      !status.ok()) {
    done(std::move(status));
    return;
  }
  std::string id = request.transaction_id();
  OnTransaction(
      OwnerOf(id), id,
      [id](PaymentShard& owner, Done reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(std::move(writable));
          return;
        }
        const v1::PaymentResult* before = owner.ledger.FindById(id);
        bool refunds =
            before != nullptr && before->status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED;
        Result<v1::PaymentResult> refunded = owner.ledger.Refund(id, Now());
        std::optional<durability::Lsn> lsn;
        if (refunds && refunded.ok()) {
          lsn = owner.journal.LogWith(kPaymentPut, [&] {
            return EncodePayment(*owner.ledger.AttemptOfKey(refunded->idempotency_key()),
                                 &*refunded);
          });
        }
        ReplyDurable(owner.journal, lsn, std::move(refunded), std::move(reply));
      },
      std::move(done), /*followed=*/false);
}

void PaymentService::OnTransaction(runtime::ShardId shard, std::string id, OnOwner fn, Done done,
                                   bool followed) {
  struct Routed {
    Result<v1::PaymentResult> result;
    std::optional<runtime::ShardId> moved;  // the record lives there: ask again
  };
  shards_.InvokeOnAsync<Routed>(
      shard,
      [id, fn, followed](PaymentShard& owner, auto reply) {
        if (!followed && !owner.ledger.HasTransactionId(id)) {
          if (auto it = owner.moved.find(id); it != owner.moved.end()) {
            reply(Routed{Status(StatusCode::kNotFound, id), it->second});
            return;
          }
        }
        fn(owner, [reply](Result<v1::PaymentResult> result) { reply(Routed{std::move(result)}); });
      },
      [this, id, fn, done = std::move(done)](Routed routed) mutable {
        if (routed.moved) {
          OnTransaction(*routed.moved, id, fn, std::move(done), /*followed=*/true);
        } else {
          done(std::move(routed.result));
        }
      });
}

void PaymentService::GetPayment(const v1::GetPaymentRequest& request, Done done) {
  Result<PaymentLookup> lookup = ValidateGetRequest(request);
  if (!lookup.ok()) {
    done(lookup.status());
    return;
  }
  if (!lookup->idempotency_key.empty()) {
    std::string key = lookup->idempotency_key;
    Lookup(
        OwnerOf(key), [key](PaymentLedger& ledger) { return ledger.FindByKey(key); },
        "no payment recorded for idempotency_key \"" + key + "\"", std::move(done));
    return;
  }
  std::string id = lookup->transaction_id;
  OnTransaction(
      OwnerOf(id), id,
      [id](PaymentShard& owner, Done reply) {
        const v1::PaymentResult* found = owner.ledger.FindById(id);
        if (found == nullptr) {
          reply(Status(StatusCode::kNotFound, "transaction_id \"" + id + "\" not found"));
        } else {
          reply(*found);
        }
      },
      std::move(done), /*followed=*/false);
}

void PaymentService::Lookup(runtime::ShardId owner,
                            std::function<const v1::PaymentResult*(PaymentLedger&)> find,
                            std::string not_found, Done done) {
  shards_.InvokeOn(
      owner,
      [find = std::move(find),
       not_found = std::move(not_found)](PaymentShard& there) -> Result<v1::PaymentResult> {
        const v1::PaymentResult* found = find(there.ledger);
        if (found == nullptr) return {StatusCode::kNotFound, not_found};
        return *found;
      },
      std::move(done));
}

void PaymentService::VoidPayment(const v1::VoidPaymentRequest& request, Done done) {
  if (Status status = ValidateVoidRequest(request); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOnAsync<Result<v1::PaymentResult>>(
      OwnerOf(request.idempotency_key()),
      [key = request.idempotency_key()](PaymentShard& owner, auto reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(std::move(writable));
          return;
        }
        const v1::PaymentResult* before = owner.ledger.FindByKey(key);
        bool refunds =
            before != nullptr && before->status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED;
        bool was_voided = owner.ledger.IsVoided(key);
        v1::PaymentResult voided = owner.ledger.Void(key, Now());
        std::optional<durability::Lsn> lsn;
        if (refunds) {
          lsn = owner.journal.LogWith(
              kPaymentPut, [&] { return EncodePayment(*owner.ledger.AttemptOfKey(key), &voided); });
        } else if (!was_voided && owner.ledger.IsVoided(key)) {
          lsn = owner.journal.Log(kKeyVoided, key);
        }
        ReplyDurable(owner.journal, lsn, Result<v1::PaymentResult>(std::move(voided)),
                     std::move(reply));
      },
      std::move(done));
}

// ---- On the owner of the idempotency key.

void PaymentService::Begin(PaymentShard& owner, PaymentAttempt&& attempt, const Waiter& waiter,
                           std::function<void(Result<Begun>)> reply) {
  if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
    reply(std::move(writable));
    return;
  }
  bool recorded = owner.ledger.AttemptOfKey(attempt.idempotency_key) != nullptr;
  std::optional<PaymentAttempt> logged;  // what the log records of it (none when off)
  if (owner.journal.enabled()) logged = attempt;
  ProcessorAnswer answer = owner.processor.Answer(attempt.token);
  std::string key;  // for the processor's timer only
  if (answer.when == ProcessorAnswer::When::kAfterDelay) key = attempt.idempotency_key;
  Result<Begun> begun = owner.ledger.Begin(std::move(attempt), answer, waiter, IdsOf(owner), Now());
  if (!begun.ok() || begun->kind == Begun::kWait) {
    ReplyDurable(owner.journal, std::nullopt, std::move(begun), std::move(reply));
    return;
  }
  if (begun->kind == Begun::kStarted) {
    // Handed to the processor: if the process dies before it answers, recovery voids it.
    if (logged) owner.journal.Log(kInFlight, EncodePayment(*logged, nullptr));
    if (answer.when == ProcessorAnswer::When::kAfterDelay) {
      owner.shard.RunAfter(answer.delay,
                           [this, &owner, key = std::move(key)] { ProcessorAnswered(owner, key); });
    }
    reply(std::move(begun));  // the callers wait for the answer, which waits for the disk
    return;
  }
  std::optional<durability::Lsn> lsn;
  if (!recorded && logged)
    lsn = owner.journal.Log(kPaymentPut, EncodePayment(*logged, &begun->result));
  ReplyDurable(owner.journal, lsn, std::move(begun), std::move(reply));
}

void PaymentService::ProcessorAnswered(PaymentShard& owner, const std::string& idempotency_key) {
  if (!owner.journal.CheckWritable().ok()) {
    // The answer cannot be recorded yet: it stays in flight, and is taken again shortly.
    if (owner.ledger.FindInFlight(idempotency_key) != nullptr) {
      owner.shard.RunAfter(std::chrono::milliseconds(200), [this, &owner, idempotency_key] {
        ProcessorAnswered(owner, idempotency_key);
      });
    }
    return;
  }
  std::optional<Answered> answered =
      owner.ledger.ProcessorAnswered(idempotency_key, IdsOf(owner), Now());
  if (!answered) return;
  std::optional<durability::Lsn> lsn = owner.journal.LogWith(kPaymentPut, [&] {
    return EncodePayment(*owner.ledger.AttemptOfKey(idempotency_key), &answered->result);
  });
  owner.journal.AfterDurable(
      lsn, [this, &owner, answered = std::move(*answered)](const Status& durable) {
        if (!Serving(owner)) return;
        for (const Waiter& waiter : answered.waiters) {
          if (durable.ok()) {
            SendAnswer(waiter, answered.result);
          } else {
            SendAnswer(waiter, durable);
          }
        }
      });
}

void PaymentService::SendAnswer(const Waiter& waiter, const Result<v1::PaymentResult>& answer) {
  PaymentShard& here = shards_.local();
  if (waiter.home == here.shard.id()) {
    Answer(here, waiter.ticket, answer);
    return;
  }
  shards_.RunOn(waiter.home, [this, ticket = waiter.ticket, answer](PaymentShard& home) mutable {
    Answer(home, ticket, std::move(answer));
  });
}

// ---- clients::PaymentClient.

void PaymentService::ProcessPayment(v1::ProcessPaymentRequest request,
                                    const clients::CallOptions& options,
                                    clients::Done<v1::PaymentResult> done) {
  ProcessPayment(request, options.deadline, ClientDone(std::move(done)));
}

void PaymentService::RefundPayment(v1::RefundPaymentRequest request,
                                   const clients::CallOptions& /*options*/,
                                   clients::Done<v1::PaymentResult> done) {
  RefundPayment(request, ClientDone(std::move(done)));
}

void PaymentService::VoidPayment(v1::VoidPaymentRequest request,
                                 const clients::CallOptions& /*options*/,
                                 clients::Done<v1::PaymentResult> done) {
  VoidPayment(request, ClientDone(std::move(done)));
}

}  // namespace percore::payment
