"""Growing a running percore cluster from P to P' partitions (services/cluster/GROWING.md), the
procedure `tools/cluster grow` and the system tests run, over cluster.v1.ClusterAdmin:
0. Ask every member's State: a growth left part-way by an earlier run (the tool killed, a member
   down during the switch) is finished if any member was switched to it (the growth only goes
   forward from the first Switch), else abandoned (Unfreeze with abort: no member was switched,
   so none drew an id or claimed an email under the new placement); then, unless finished, a
   new growth:
1. Freeze every member under a lease (calls that draw ids or claim emails answer UNAVAILABLE
   "retry"; reads go on), then take T = now + 1 ms: every id drawn before is older than T; name
   the growth G = P0,...,P'@T to every member (Freeze again: renews the lease).
2. Start each new partition q (P <= q < P') with --grown G --grow-joining, through the caller's
   `start_member`, and give it the lease too.
3. Every partition q of P' pulls from every old partition p != q the email claims p holds whose
   owner under P' is q (PullPartition: a stream), and adopts them (AdoptClaims: journaled).
4. Renew every lease in one round, Switch every member (old ones first; each drops the claims
   it no longer owns, journaled), then Unfreeze every member.
A member whose lease runs out settles the growth itself (growth_settle.h). Returns the --grown
history (for restarts) and the member list."""

import time

import grpc

from percore_py.stubs import stub_modules

_BATCH = 1000  # claims per AdoptClaims
LEASE_MS = 30000  # a member frozen this long without its switch settles the growth itself


class ToolKilled(Exception):
    """Raised by the test-only `fail_at` hook: the tool stops there as if killed (no clean-up)."""


class GrowthInterrupted(Exception):
    """A growth switched part-way and not finished (a member could not be reached): it can only
    go forward; run grow again (the same `to`) to finish it. `grown` and `members` say which."""

    def __init__(self, message, grown, members):
        super().__init__(message)
        self.grown = grown
        self.members = members


def _admin(address):
    pb, pb_grpc = stub_modules("cluster.v1.cluster_admin")
    channel = grpc.insecure_channel(address)
    return channel, pb_grpc.ClusterAdminStub(channel), pb


def _done_with(state, grown):
    """Whether the member's answer says it was switched to `grown` (or is done with it)."""
    return (state.growing == grown and state.switched) or (
        not state.growing and state.grown == grown)


def grow(addresses, to, start_member, metadata=(), timeout=30, log=lambda line: None,
         lease_ms=LEASE_MS, fail_at=None):
    """`addresses`: the running old members' HOST:PORT by partition; `to`: P'; start_member(q,
    grown) starts partition q with `--grown GROWN --grow-joining` (and the P'-member list the
    caller already chose) and returns its HOST:PORT. `fail_at` (tests only): a step name
    ("pulled", "switched:N", "named") at which to raise ToolKilled. Returns (grown, members)."""
    old = list(addresses)
    links = {}

    def admin(address):
        if address not in links:
            links[address] = _admin(address)
        return links[address][1], links[address][2]

    def call(address, method, request, call_timeout=None):
        stub, _ = admin(address)
        return getattr(stub, method)(request, metadata=list(metadata),
                                     timeout=call_timeout or timeout)

    def checkpoint(step):
        if fail_at == step:
            raise ToolKilled(step)

    try:
        _, pb = admin(old[0])
        states = [call(a, "State", pb.StateRequest()) for a in old]
        pending = next((s for s in states if s.growing), None)
        if pending is not None:
            finished = _resume(pending, old, to, call, pb, log, lease_ms, checkpoint)
            if finished:
                return finished
            states = [call(a, "State", pb.StateRequest()) for a in old]
        if all(s.partitions == to and not s.frozen for s in states) and states[0].grown:
            log("already grown to %d partitions (--grown %s)" % (to, states[0].grown))
            return states[0].grown, list(states[0].members)
        if to <= len(old) or any(s.partitions != len(old) for s in states):
            raise ValueError("grow wants more partitions than the %d running (they say %s)"
                             % (len(old), [s.partitions for s in states]))
        return _grow(old, states, to, start_member, call, pb, log, lease_ms, checkpoint)
    finally:
        for channel, _, _ in links.values():
            channel.close()


def _resume(pending, old, to, call, pb, log, lease_ms, checkpoint):
    """An earlier growth left part-way: finished when a member was switched (returns (grown,
    members)), else abandoned on every old member (returns None)."""
    grown, members = pending.growing, list(pending.growing_members)
    if int(grown.rsplit(",", 1)[1].split("@")[0]) != to:
        raise ValueError("an earlier growth (--grown %s) is pending; finish it first (grow --to "
                         "%s)" % (grown, grown.rsplit(",", 1)[1].split("@")[0]))
    answers = {}
    for address in members:
        try:
            answers[address] = call(address, "State", pb.StateRequest())
        except grpc.RpcError as e:
            answers[address] = e
    reached = {a: s for a, s in answers.items() if not isinstance(s, grpc.RpcError)}
    if any(_done_with(s, grown) for s in reached.values()):
        log("resuming the growth to --grown %s: a member was switched, finishing it" % grown)
        _finish(grown, members, reached, call, pb, log, lease_ms, checkpoint)
        return grown, members
    unreached = [a for a in old if a not in reached]
    if unreached:
        raise RuntimeError("an earlier growth (--grown %s) is pending and %s cannot be asked "
                           "whether it was switched; retry once it is back" % (grown, unreached))
    for address in old:
        call(address, "Unfreeze", pb.UnfreezeRequest(abort=True, grown=grown))
    log("abandoned the earlier growth (--grown %s): no member was switched; its joining "
        "members stop themselves when their lease runs out" % grown)
    return None


def _renew(grown, members, call, pb, lease_ms, skip=()):
    """One round of Freeze(G) over `members`; raises when it took more than a quarter of the
    lease (a Switch then needs half of it left)."""
    began = time.monotonic()
    for address in members:
        if address in skip:
            continue
        call(address, "Freeze", pb.FreezeRequest(lease_ms=lease_ms, grown=grown,
                                                 members=members))
    took = (time.monotonic() - began) * 1000
    if took > lease_ms / 4:
        raise RuntimeError("renewing the freeze's lease took %d ms of its %d" % (took, lease_ms))


def _finish(grown, members, answers, call, pb, log, lease_ms, checkpoint, renew=True):
    """Switch every member not switched yet, then Unfreeze every one. A member that cannot be
    reached: GrowthInterrupted (run grow again)."""
    done = {a for a, s in answers.items() if not s.growing and s.grown == grown}
    try:
        if renew:
            _renew(grown, members, call, pb, lease_ms, skip=done)
        switches = 0
        for address in members:
            state = answers.get(address)
            if address in done or (state is not None and _done_with(state, grown)):
                continue
            call(address, "Switch", pb.SwitchRequest(grown=grown, members=members))
            switches += 1
            checkpoint("switched:%d" % switches)
        log("switched to %d partitions" % len(members))
        for address in members:
            call(address, "Unfreeze", pb.UnfreezeRequest(grown=grown))
    except grpc.RpcError as e:
        raise GrowthInterrupted("the growth to --grown %s was switched part-way and is not "
                                "finished (%s: %s); run grow again to finish it"
                                % (grown, e.code(), e.details()), grown, members) from e
    log("unfrozen")


def _grow(old, states, to, start_member, call, pb, log, lease_ms, checkpoint):
    for address in old:
        call(address, "Freeze", pb.FreezeRequest(lease_ms=lease_ms))
    log("frozen: %s" % ", ".join(old))
    previous = states[0].grown or str(states[0].partitions)
    since = int(time.time() * 1000) + 1
    grown = "%s,%d@%d" % (previous, to, since)
    members, switched = list(old), False
    try:
        members = old + [start_member(q, grown) for q in range(len(old), to)]
        _renew(grown, members, call, pb, lease_ms)
        log("started: %s (--grown %s)" % (", ".join(members[len(old):]), grown))
        checkpoint("named")
        for q in range(to):
            for p in range(len(old)):
                if p == q:
                    continue
                claims = list(call(old[p], "PullPartition",
                                   pb.PullPartitionRequest(partitions=to, partition=q)))
                for start in range(0, len(claims), _BATCH):
                    call(members[q], "AdoptClaims",
                         pb.AdoptClaimsRequest(claims=claims[start:start + _BATCH]))
                if claims:
                    log("partition %d took %d email claims from partition %d"
                        % (q, len(claims), p))
        checkpoint("pulled")
        _renew(grown, members, call, pb, lease_ms)
        log("switching")
        switched = True  # from the first Switch call on, the growth only goes forward
        _finish(grown, members, {}, call, pb, log, lease_ms, checkpoint, renew=False)
        return grown, members
    except ToolKilled:
        raise
    except Exception:
        if switched:
            raise
        # No member switched: abandon it on the old members (unfrozen as they were); joining
        # ones stay frozen (the caller stops them, or they stop when their lease runs out).
        for address in old:
            try:
                call(address, "Unfreeze", pb.UnfreezeRequest(abort=True, grown=grown))
            except grpc.RpcError as e:
                log("could not unfreeze %s (%s): it unfreezes itself when its lease runs out"
                    % (address, e.code()))
        log("growth abandoned; old members unfrozen")
        raise
