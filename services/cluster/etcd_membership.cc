#include "services/cluster/etcd_membership.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "core/observe/log.h"
#include "etcd/etcd_v3.grpc.pb.h"

namespace percore::cluster {
namespace {

using std::chrono::milliseconds;

// One request to etcd may take this long (a live etcd answers in milliseconds; a hung one must
// not hold the keep-alive past the lease).
constexpr milliseconds kRequestTimeout{2000};
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{2000};

// The end of the key range that holds every key starting with `prefix` (etcd's prefix range).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last < 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string Hex(int64_t lease) {
  char text[24];
  std::snprintf(text, sizeof(text), "%llx", static_cast<unsigned long long>(lease));
  return text;
}

Status FromGrpc(const char* what, const grpc::Status& status) {
  return Status(StatusCode::kUnavailable, std::string(what) + ": " +
                                              std::to_string(status.error_code()) + " " +
                                              status.error_message());
}

}  // namespace

EtcdMembership::EtcdMembership(EtcdMembershipOptions options, Publish publish, Lost on_lost)
    : options_(std::move(options)),
      publish_(std::move(publish)),
      on_lost_(std::move(on_lost)),
      members_prefix_(options_.prefix + "/members/") {
  grpc::ChannelArguments args;
  // A connection attempt to a down etcd fails within about a second instead of gRPC's 20 s.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A watch on a connection that died silently is noticed (etcd allows pings every 5 s).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  for (const std::string& endpoint : options_.endpoints) {
    channels_.push_back(
        grpc::CreateCustomChannel("dns:///" + endpoint, grpc::InsecureChannelCredentials(), args));
  }
  published_.assign(options_.partitions, "");
}

EtcdMembership::~EtcdMembership() { Stop(); }

std::string EtcdMembership::KeyOf(PartitionId partition) const {
  return members_prefix_ + std::to_string(partition);
}

std::shared_ptr<grpc::Channel> EtcdMembership::Channel() const {
  return channels_[endpoint_.load(std::memory_order_relaxed) % channels_.size()];
}

void EtcdMembership::NextEndpoint() { endpoint_.fetch_add(1, std::memory_order_relaxed); }

void EtcdMembership::SetDeadline(grpc::ClientContext& context, milliseconds timeout) const {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

Status EtcdMembership::Register() {
  auto lease_stub = etcdserverpb::Lease::NewStub(Channel());
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(options_.lease_ttl_seconds);
  etcdserverpb::LeaseGrantResponse granted;
  {
    grpc::ClientContext context;
    SetDeadline(context, kRequestTimeout);
    grpc::Status status = lease_stub->LeaseGrant(&context, grant, &granted);
    if (!status.ok()) return FromGrpc("LeaseGrant", status);
    if (!granted.error().empty()) {
      return Status(StatusCode::kUnavailable, "LeaseGrant: " + granted.error());
    }
  }
  // Fencing: the key is written only if nobody holds it (create_revision 0: no such key), bound
  // to the new lease; else the holder is read in the same transaction.
  const std::string key = KeyOf(options_.self);
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* absent = txn.add_compare();
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_key(key);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(options_.advertise);
  put->set_lease(granted.id());
  txn.add_failure()->mutable_request_range()->set_key(key);
  etcdserverpb::TxnResponse done;
  grpc::ClientContext context;
  SetDeadline(context, kRequestTimeout);
  grpc::Status status = etcdserverpb::KV::NewStub(Channel())->Txn(&context, txn, &done);
  if (!status.ok()) {
    // The write may have happened: a retry that finds the key under this lease takes it.
    unanswered_leases_.push_back(granted.id());
    return FromGrpc("Txn", status);
  }
  int64_t lease = granted.id();
  if (!done.succeeded()) {
    const etcdserverpb::KeyValue* holder = nullptr;
    if (done.responses_size() > 0 && done.responses(0).response_range().kvs_size() > 0) {
      holder = &done.responses(0).response_range().kvs(0);
    }
    const bool ours = holder != nullptr && holder->value() == options_.advertise &&
                      std::find(unanswered_leases_.begin(), unanswered_leases_.end(),
                                holder->lease()) != unanswered_leases_.end();
    RevokeQuietly(granted.id());
    holder_ = holder != nullptr ? holder->value() : std::string();
    if (!ours) {
      // Another process serves this partition: never take the key from under its live lease.
      return Status(StatusCode::kAlreadyExists,
                    "partition " + std::to_string(options_.self) + " is already served by " +
                        (holder != nullptr ? holder->value() : std::string("another member")) +
                        " (etcd key " + key + " held under lease " +
                        (holder != nullptr ? Hex(holder->lease()) : std::string("?")) +
                        "); one process per partition: stop that one or wait for its lease to "
                        "expire (up to --etcd-lease-ttl-seconds after it died)");
    }
    lease = holder->lease();  // an earlier attempt of ours whose answer was lost
  }
  for (int64_t unanswered : unanswered_leases_) {
    if (unanswered != lease) RevokeQuietly(unanswered);
  }
  unanswered_leases_.clear();
  lease_.store(lease);
  ttl_seconds_.store(granted.ttl() > 0 ? granted.ttl() : options_.lease_ttl_seconds);
  observe::Log(observe::LogLevel::kInfo,
               "percore-server: etcd: registered %s = %s (lease %s, TTL %llds)\n", key.c_str(),
               options_.advertise.c_str(), Hex(lease).c_str(),
               static_cast<long long>(ttl_seconds_.load()));
  return Status();
}

void EtcdMembership::RevokeQuietly(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(lease);
  etcdserverpb::LeaseRevokeResponse revoked;
  grpc::ClientContext context;
  SetDeadline(context, kRequestTimeout);
  // A lease not revoked (etcd away) expires by itself, holding no key.
  (void)etcdserverpb::Lease::NewStub(Channel())->LeaseRevoke(&context, revoke, &revoked);
}

Status EtcdMembership::Sync() {
  etcdserverpb::RangeRequest range;
  range.set_key(members_prefix_);
  range.set_range_end(PrefixEnd(members_prefix_));
  etcdserverpb::RangeResponse found;
  grpc::ClientContext context;
  SetDeadline(context, kRequestTimeout);
  grpc::Status status = etcdserverpb::KV::NewStub(Channel())->Range(&context, range, &found);
  if (!status.ok()) return FromGrpc("Range", status);
  registered_.clear();
  for (const etcdserverpb::KeyValue& kv : found.kvs()) {
    std::string_view name = std::string_view(kv.key()).substr(members_prefix_.size());
    PartitionId partition = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), partition);
    if (ec != std::errc() || end != name.data() + name.size()) continue;
    registered_[partition] = kv.value();
  }
  revision_ = found.header().revision();
  PublishIfChanged();
  return Status();
}

void EtcdMembership::PublishIfChanged() {
  std::vector<std::string> members(options_.partitions);
  for (const auto& [partition, address] : registered_) {
    if (partition < members.size()) members[partition] = address;
  }
  if (members == published_) return;
  published_ = members;
  std::string line;
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(i);
    line += '=';
    line += members[i].empty() ? std::string("-") : members[i];
  }
  publish_(published_);  // every shard has the list before the line says so (tests wait for it)
  observe::Log(observe::LogLevel::kInfo, "percore-server: etcd members: %s\n", line.c_str());
}

Status EtcdMembership::Start() {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(options_.connect_timeout_seconds);
  milliseconds backoff = kFirstBackoff;
  Status last;
  std::optional<std::chrono::steady_clock::time_point> held_until;
  for (;;) {
    // Registered once, only the listing is retried (a second registration would find the key
    // held under this process's own lease).
    last = lease_.load() == 0 ? Register() : Status();
    if (last.code() == StatusCode::kAlreadyExists) {
      // Held at another address: another process serves the partition; refused at once. Held at
      // this member's own address: most likely its previous process, killed before it could
      // revoke (a restarted pod); its lease ends within a TTL, so wait that long, never taking
      // the key while the lease lives.
      if (holder_ != options_.advertise) return last;
      const auto now = std::chrono::steady_clock::now();
      if (!held_until) {
        held_until = now + std::chrono::seconds(options_.lease_ttl_seconds) + milliseconds(1000);
        observe::Log(observe::LogLevel::kWarn,
                     "percore-server: etcd: partition %zu is registered at this member's own "
                     "address %s (a previous process?): waiting up to %ds for its lease to "
                     "expire\n",
                     static_cast<size_t>(options_.self), options_.advertise.c_str(),
                     options_.lease_ttl_seconds + 1);
      }
      if (now >= *held_until) return last;
      std::this_thread::sleep_for(milliseconds(250));
      continue;
    }
    if (last.ok()) last = Sync();
    if (last.ok()) break;
    NextEndpoint();
    if (std::chrono::steady_clock::now() + backoff >= give_up) {
      std::string endpoints;
      for (const std::string& e : options_.endpoints) {
        endpoints += (endpoints.empty() ? "http://" : ",http://") + e;
      }
      return Status(StatusCode::kUnavailable,
                    "--etcd " + endpoints + ": no endpoint answered within " +
                        std::to_string(options_.connect_timeout_seconds) +
                        " s (--etcd-connect-timeout-seconds); last error: " + last.message());
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  {
    std::lock_guard lock(mutex_);
    started_ = true;
  }
  keep_alive_thread_ = std::thread([this] { KeepAliveLoop(); });
  watch_thread_ = std::thread([this] { WatchLoop(); });
  return Status();
}

bool EtcdMembership::WaitOrStop(milliseconds delay) {
  std::unique_lock lock(mutex_);
  return stop_changed_.wait_for(lock, delay, [this] { return stopping_; });
}

Status EtcdMembership::KeepAliveOnce() {
  grpc::ClientContext context;
  SetDeadline(context, kRequestTimeout);
  auto stream = etcdserverpb::Lease::NewStub(Channel())->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_.load());
  etcdserverpb::LeaseKeepAliveResponse response;
  bool answered = stream->Write(request) && stream->Read(&response);
  if (answered) context.TryCancel();  // one renewal per stream; the rest is not read
  grpc::Status status = stream->Finish();
  if (!answered) return FromGrpc("LeaseKeepAlive", status);
  if (response.ttl() <= 0) {
    return Status(StatusCode::kNotFound, "the lease expired (etcd no longer knows it)");
  }
  return Status();
}

void EtcdMembership::KeepAliveLoop() {
  bool failing = false;
  milliseconds backoff = kFirstBackoff;
  milliseconds wait = milliseconds(ttl_seconds_.load() * 1000 / 3);
  while (!WaitOrStop(wait)) {
    const milliseconds period =
        std::max(milliseconds(ttl_seconds_.load() * 1000 / 3), milliseconds(300));
    Status status = KeepAliveOnce();
    if (status.code() == StatusCode::kNotFound) {
      observe::Log(observe::LogLevel::kWarn, "percore-server: etcd: %s; registering again\n",
                   status.message().c_str());
      status = Register();
      if (status.code() == StatusCode::kAlreadyExists) {
        // Another process took the partition while this one could not renew (frozen, cut off).
        lease_.store(0);  // nothing of ours left to revoke
        observe::Log(observe::LogLevel::kError,
                     "percore-server: etcd: lost the registration of partition %zu: %s\n",
                     static_cast<size_t>(options_.self), status.message().c_str());
        if (on_lost_) on_lost_(status);
        return;
      }
    }
    if (status.ok()) {
      if (failing)
        observe::Log(observe::LogLevel::kInfo, "percore-server: etcd: lease renewed again\n");
      failing = false;
      backoff = kFirstBackoff;
      wait = period;
      continue;
    }
    if (!failing) {
      observe::Log(observe::LogLevel::kWarn,
                   "percore-server: etcd: cannot renew the lease (%s); keeping the last known "
                   "members, retrying\n",
                   status.message().c_str());
    }
    failing = true;
    NextEndpoint();
    wait = std::min(backoff, period);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Status EtcdMembership::WatchUntilBroken() {
  grpc::ClientContext context;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Status();
    watch_context_ = &context;
  }
  auto stream = etcdserverpb::Watch::NewStub(Channel())->Watch(&context);
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(members_prefix_);
  create->set_range_end(PrefixEnd(members_prefix_));
  create->set_start_revision(revision_ + 1);
  Status ended;
  if (stream->Write(request)) {
    etcdserverpb::WatchResponse response;
    while (stream->Read(&response)) {
      if (response.canceled() || response.compact_revision() > 0) {
        // History past our revision is gone: start over from a fresh Range.
        ended = Status(StatusCode::kAborted, "watch canceled: " + response.cancel_reason());
        break;
      }
      for (const etcdserverpb::Event& event : response.events()) {
        std::string_view name =
            std::string_view(event.kv().key())
                .substr(std::min(members_prefix_.size(), event.kv().key().size()));
        PartitionId partition = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), partition);
        if (ec == std::errc() && end == name.data() + name.size()) {
          if (event.type() == etcdserverpb::Event::PUT) {
            registered_[partition] = event.kv().value();
          } else {
            registered_.erase(partition);
          }
        }
        revision_ = std::max(revision_, event.kv().mod_revision());
      }
      if (!response.events().empty()) PublishIfChanged();
    }
  }
  context.TryCancel();
  grpc::Status status = stream->Finish();
  {
    std::lock_guard lock(mutex_);
    watch_context_ = nullptr;
  }
  if (ended.ok()) ended = FromGrpc("Watch", status);
  return ended;
}

void EtcdMembership::WatchLoop() {
  milliseconds backoff = kFirstBackoff;
  bool failing = false;
  for (;;) {
    Status ended = WatchUntilBroken();
    if (WaitOrStop(milliseconds(0))) return;
    if (!failing) {
      observe::Log(observe::LogLevel::kWarn,
                   "percore-server: etcd: watch ended (%s); keeping the last known members, "
                   "retrying\n",
                   ended.message().c_str());
    }
    failing = true;
    NextEndpoint();
    if (WaitOrStop(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
    // Catch up from a fresh listing (events may have been compacted away meanwhile).
    if (Sync().ok()) {
      observe::Log(observe::LogLevel::kInfo, "percore-server: etcd: watching again\n");
      failing = false;
      backoff = kFirstBackoff;
    }
  }
}

void EtcdMembership::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  stop_changed_.notify_all();
  if (keep_alive_thread_.joinable()) keep_alive_thread_.join();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (!started_ || lease_.load() == 0) return;
  // Drop out of the cluster now rather than when the lease would expire.
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(lease_.load());
  etcdserverpb::LeaseRevokeResponse revoked;
  grpc::ClientContext context;
  SetDeadline(context, milliseconds(1000));
  grpc::Status status =
      etcdserverpb::Lease::NewStub(Channel())->LeaseRevoke(&context, revoke, &revoked);
  std::fprintf(
      stderr, "percore-server: etcd: %s\n",
      status.ok() ? "lease revoked (deregistered)"
                  : ("lease not revoked, it expires by itself: " + status.error_message()).c_str());
}

}  // namespace percore::cluster
