"""A P-partition percore cluster on loopback (static membership): P percore-server processes,
member i serving partition i on its own port, each started with `--partitions P --partition i
--members A0,A1,...` so any member answers any call (services/cluster). Ports are chosen free
before the start (every member must know every address up front). With `etcd` (an etcd client
URL, e.g. percore_py.etcd.Etcd().url) the members find each other there instead (`--etcd URL`,
live membership, no --members): each registers its own address, so a member can also come back
on a new port. A member can be killed (as a crash) and started again; stop() stops exactly the
processes started here, also when start() failed half-way. Used by
tests/system/user_cluster_support.py, cluster_etcd_python_test.py and tools/cluster. grow(P')
grows a running (static) cluster (percore_py.grow), as `tools/cluster grow` does."""

import os
import socket
import time

from percore_py.server import Server


# Metadata that marks a call as forwarded already: a member answers it only for its own keys
# (others: UNAVAILABLE), so a test finds the partition that owns a key by asking each member.
OWNER_ONLY = [("percore-forwarded-from", "9")]


def free_ports(count):
    """`count` distinct loopback ports that were free a moment ago (held together while chosen,
    so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Cluster:
    """`partitions` members of `binary`; `flags` go to every member, `member_flags(i)` (optional)
    returns extra flags for member i (e.g. its own --data-dir)."""

    def __init__(self, binary, partitions=3, shards=2, flags=(), member_flags=None, ports=None,
                 etcd=None, lease_ttl_seconds=None):
        self.binary = binary
        self.etcd = etcd
        self.lease_ttl_seconds = lease_ttl_seconds
        self.partitions = partitions
        self.shards = shards
        self.flags = list(flags)
        self.member_flags = member_flags or (lambda i: [])
        self.ports = list(ports) if ports else free_ports(partitions)
        self.addresses = ["127.0.0.1:%d" % p for p in self.ports]
        self.members = [None] * partitions  # percore_py.server.Server by partition
        self.grown = None  # the --grown history once grown (every later start passes it)

    def start(self):
        try:
            for i in range(self.partitions):
                self.start_member(i)
        except BaseException:
            self.stop()
            raise
        return self

    def membership_flags(self):
        if not self.etcd:
            return ["--members", ",".join(self.addresses)]
        flags = ["--etcd", self.etcd]
        if self.lease_ttl_seconds:
            flags += ["--etcd-lease-ttl-seconds", str(self.lease_ttl_seconds)]
        return flags

    def grow(self, to, metadata=(), log=lambda line: None, **hooks):
        """Grows the running cluster to `to` partitions (percore_py.grow: freeze, start the new
        members, pull the email claims, switch, unfreeze); later starts of any member pass the
        printed --grown history. Returns it. Called again after a failure (the same `to`), it
        finishes or abandons the growth left part-way (its new members are still running).
        `hooks`: percore_py.grow's `lease_ms` and test-only `fail_at`, `timeout`."""
        from percore_py.grow import grow
        assert not self.etcd, "growing is for static membership (--members)"
        old = self.partitions
        if len(self.ports) < to:
            # Every new address is known before the first new member starts (each lists all P').
            self.ports += free_ports(to - len(self.ports))
            self.addresses = ["127.0.0.1:%d" % p for p in self.ports]
            self.members += [None] * (to - len(self.members))

        def start_new(q, grown):
            self.grown = grown
            if self.members[q]:  # a joining member of a growth abandoned since
                self.stop_member(q)
            self.start_member(q, partitions=to, extra=["--grow-joining"])
            return self.addresses[q]

        grown, _ = grow(self.addresses[:old], to, start_new, metadata=metadata, log=log, **hooks)
        self.partitions = to
        self.grown = grown
        return grown

    def start_member(self, i, attempts=50, new_port=False, partitions=None, extra=()):
        """Starts member i on its port (retried while the port is still held by a killed one),
        or on a new free port (etcd membership only: the others learn it from etcd)."""
        if new_port:
            assert self.etcd, "with --members every member knows the old port"
            self.ports[i] = free_ports(1)[0]
            self.addresses[i] = "127.0.0.1:%d" % self.ports[i]
        last = None
        for _ in range(attempts):
            try:
                self.members[i] = Server(
                    self.binary, "--listen", self.addresses[i], "--shards", str(self.shards),
                    "--shutdown-grace", "2", "--partitions", str(partitions or self.partitions),
                    "--partition", str(i), *self.membership_flags(),
                    *(["--grown", self.grown] if self.grown else []), *extra,
                    *self.flags, *self.member_flags(i))
                return self.members[i]
            except RuntimeError as e:
                last = e
                time.sleep(0.1)
        raise last

    def kill(self, i):
        """SIGKILLs member i (a crash)."""
        self.members[i].kill()
        self.members[i] = None

    def stop_member(self, i):
        code = self.members[i].stop() if self.members[i] else None
        self.members[i] = None
        return code

    def stop(self):
        """SIGTERM to every member still running; their exit codes by partition."""
        return [self.stop_member(i) for i in range(len(self.members))]

    def pids(self):
        return [m.proc.pid for m in self.members if m]
