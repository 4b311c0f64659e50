#pragma once
// Threading contract: Start() and Stop() on the control thread (main); Start() blocks at most
// --etcd-connect-timeout-seconds. Afterwards two threads of its own talk to etcd (the lease's
// keep-alive, the watch); `publish` runs on the control thread during Start() and on the watch
// thread afterwards, one call at a time. Nothing here runs on a shard: the shards learn the
// members through MemberLinks::UpdateMembers (their mailboxes).
//
// Live cluster membership through etcd's v3 gRPC API (proto/etcd/etcd_v3.proto; grpc++ is
// already in the build, and Watch and LeaseKeepAlive are gRPC streams, where etcd's JSON
// gateway would need a streaming HTTP client of its own). This process registers
// PREFIX/members/<partition> = its advertised HOST:PORT under a lease of --etcd-lease-ttl-seconds,
// renewed every third of it, and watches PREFIX/members/ to publish the live members by
// partition ("" for a partition with none). A member that stops renewing (killed, partitioned
// away) has its key deleted by etcd when the lease expires, and the others drop it then; Stop()
// revokes the lease, so a member that drains is dropped at once. etcd unreachable: the last
// known members stay published, the keep-alive and the watch retry with backoff (over the
// endpoints in turn); a lease etcd no longer knows (it expired meanwhile) is replaced and the
// key written again.
//
// Fencing: the key is written in a transaction only if it does not exist (create_revision 0),
// so while one process holds a partition's key under its live lease a second one for the same
// partition is refused (Start() fails ALREADY_EXISTS naming the holder) and the first is not
// disturbed; a key held at this member's own address (its previous process, killed) is waited
// for, up to a TTL, then refused alike. A member whose lease expired (frozen, cut off from etcd
// longer than the TTL) and whose partition another process has taken meanwhile learns it at its
// next renewal: `on_lost` runs (the keep-alive thread, once) and the keep-alive stops; main() then
// drains and exits.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/base/status.h"
#include "core/cluster/partition_for.h"

namespace percore::cluster {

struct EtcdMembershipOptions {
  std::vector<std::string> endpoints;  // HOST:PORT
  std::string prefix = "/percore";
  std::string advertise;  // HOST:PORT of this member
  size_t partitions = 1;
  PartitionId self = 0;
  int lease_ttl_seconds = 10;
  int connect_timeout_seconds = 10;
};

class EtcdMembership {
 public:
  // Members by partition; "" where no member is registered.
  using Publish = std::function<void(const std::vector<std::string>& members)>;

  // The partition was taken by another process after this one's lease expired (the status names
  // the new holder).
  using Lost = std::function<void(const Status& taken)>;

  EtcdMembership(EtcdMembershipOptions options, Publish publish, Lost on_lost = nullptr);
  ~EtcdMembership();  // Stop()
  EtcdMembership(const EtcdMembership&) = delete;
  EtcdMembership& operator=(const EtcdMembership&) = delete;

  // Registers this member and publishes the members registered now, then starts the keep-alive
  // and the watch. UNAVAILABLE naming the endpoints if none answered within the connect timeout;
  // ALREADY_EXISTS naming the holder if another process holds this partition (at once; after
  // up to a lease TTL when the holder has this member's own address).
  Status Start();
  // Stops both threads and revokes the lease (the others drop this member at once). Idempotent.
  void Stop();

  // The key this member registers.
  std::string KeyOf(PartitionId partition) const;

 private:
  std::shared_ptr<grpc::Channel> Channel() const;
  void NextEndpoint();
  void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout) const;
  Status Register();  // a new lease and the key under it, if nobody holds the key
  void RevokeQuietly(int64_t lease);
  Status Sync();  // every member registered now (the watch's starting revision)
  Status KeepAliveOnce();
  Status WatchUntilBroken();
  void PublishIfChanged();
  bool WaitOrStop(std::chrono::milliseconds delay);  // true when stopping
  void KeepAliveLoop();
  void WatchLoop();

  EtcdMembershipOptions options_;
  Publish publish_;
  Lost on_lost_;
  std::string members_prefix_;  // PREFIX/members/
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::atomic<size_t> endpoint_{0};
  std::atomic<int64_t> lease_{0};
  std::atomic<int64_t> ttl_seconds_{0};
  // Register() only (Start(), then the keep-alive thread): leases granted whose transaction got
  // no answer, so a retry finding the key under one of them knows it is its own.
  std::vector<int64_t> unanswered_leases_;
  std::string holder_;  // Register(): the address holding the key when it was refused

  // Watch thread (and Start() before it runs).
  std::map<PartitionId, std::string> registered_;
  int64_t revision_ = 0;  // the last revision seen
  std::vector<std::string> published_;

  std::mutex mutex_;  // control path only: stopping_, the watch's context
  std::condition_variable stop_changed_;
  bool stopping_ = false;
  bool started_ = false;
  grpc::ClientContext* watch_context_ = nullptr;
  std::thread keep_alive_thread_;
  std::thread watch_thread_;
};

}  // namespace percore::cluster
