"""Growing a running percore cluster from P to P' partitions (services/cluster/GROWING.md), the
procedure `tools/cluster grow` and the system test run, over cluster.v1.ClusterAdmin:
1. Freeze every member (calls that draw ids or claim emails answer UNAVAILABLE "retry"; reads
   go on), then take T = now + 1 ms: every id drawn before is older than T.
2. Start each new partition q (P <= q < P') with the new history (--grown P0,...,P'@T) and
   --grow-joining (frozen from its start), through the caller's `start_member`.
3. Every partition q of P' pulls from every old partition p != q the email claims p holds whose
   owner under P' is q (PullPartition: a stream), and adopts them (AdoptClaims: journaled).
4. Switch every member to the new history and member list; then Unfreeze every member.
Returns the --grown history (for restarts) and the member list."""

import time

import grpc

from percore_py.stubs import stub_modules

_BATCH = 1000  # claims per AdoptClaims


def _admin(address):
    pb, pb_grpc = stub_modules("cluster.v1.cluster_admin")
    channel = grpc.insecure_channel(address)
    return channel, pb_grpc.ClusterAdminStub(channel), pb


def grow(addresses, to, start_member, metadata=(), timeout=30, log=lambda line: None):
    """`addresses`: the running members' HOST:PORT by partition; `to`: P'; start_member(q,
    grown) starts partition q with `--grown GROWN --grow-joining` (and the P'-member list the
    caller already chose) and returns its HOST:PORT. Returns (grown, addresses of all P')."""
    old = list(addresses)
    if to <= len(old):
        raise ValueError("grow wants more partitions than the %d running" % len(old))
    links = {}

    def admin(address):
        if address not in links:
            links[address] = _admin(address)
        return links[address][1], links[address][2]

    def call(address, method, request):
        stub, _ = admin(address)
        return getattr(stub, method)(request, metadata=list(metadata), timeout=timeout)

    try:
        _, pb = admin(old[0])
        states = [call(a, "Freeze", pb.FreezeRequest()) for a in old]
        log("frozen: %s" % ", ".join(old))
        previous = states[0].grown or str(states[0].partitions)
        since = int(time.time() * 1000) + 1
        grown = "%s,%d@%d" % (previous, to, since)
        switching = switched = False
        try:
            members = old + [start_member(q, grown) for q in range(len(old), to)]
            log("started: %s (--grown %s)" % (", ".join(members[len(old):]), grown))
            for q in range(to):
                for p in range(len(old)):
                    if p == q:
                        continue
                    claims = list(admin(old[p])[0].PullPartition(
                        pb.PullPartitionRequest(partitions=to, partition=q),
                        metadata=list(metadata), timeout=timeout))
                    for start in range(0, len(claims), _BATCH):
                        call(members[q], "AdoptClaims",
                             pb.AdoptClaimsRequest(claims=claims[start:start + _BATCH]))
                    if claims:
                        log("partition %d took %d email claims from partition %d"
                            % (q, len(claims), p))
            switching = True
            for a in members:
                call(a, "Switch", pb.SwitchRequest(grown=grown, members=members))
            switched = True
            log("switched to %d partitions" % to)
        finally:
            # Before any Switch a failure leaves the old members as they were: unfrozen. A Switch
            # that failed part-way leaves every member frozen (reads still served): members on
            # both placements must not draw ids; Switch the rest, then Unfreeze, by hand.
            if switched or not switching:
                for a in (members if switched else old):
                    call(a, "Unfreeze", pb.UnfreezeRequest())
            else:
                log("a Switch failed: every member left frozen; Switch the rest (--grown %s), "
                    "then Unfreeze every member" % grown)
        log("unfrozen")
        return grown, members
    finally:
        for channel, _, _ in links.values():
            channel.close()
