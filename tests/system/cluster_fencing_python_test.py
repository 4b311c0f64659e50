"""One process per partition, one placement per data directory (issue 14).

With etcd (a real one, percore_py.etcd, leases of 2 s): a second process started for a partition
whose key another holds under a live lease is refused (exit 2, naming the partition and the
holder's address) and the holder goes on undisturbed; once the holder is killed and its lease
has expired a new process takes the partition (one restarted on the killed holder's own address
waits for that lease rather than failing); a member frozen past its lease whose partition
another process took meanwhile stops when it wakes (drains, exit 1) and leaves the new holder's
key alone.

With --data-dir: the first start records the partition count (and growth history) in the
directory; a restart with a larger --partitions not explained by --grown, with fewer, without the
--grown a grown directory needs, or as another partition is refused (exit 2) before anything is
recovered, and a restart with the --grown history that explains it serves the data as before.
Usage: cluster_fencing_python_test.py PATH/TO/percore-server"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import grpc

from percore_py.cluster import Cluster, free_ports
from percore_py.etcd import Etcd
from percore_py.server import Server, run_refused
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10
TTL = 2
P = 2


def wait_until(what, check, timeout):
    give_up = time.monotonic() + timeout
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError("never: " + what)
        time.sleep(0.05)


class EtcdFencing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.etcd = Etcd().start()

    @classmethod
    def tearDownClass(cls):
        cls.etcd.stop()

    def setUp(self):
        prefix = "/fence-%s" % uuid.uuid4().hex[:8]  # one cluster per case in the one etcd
        self.key = prefix + "/members/1"
        # The restart on its own address waits for its predecessor's lease: a longer one makes
        # sure the restart comes before it expires.
        ttl = 5 if "own_address" in self.id() else TTL
        self.cluster = Cluster(SERVER, P, shards=1, flags=["--services", "user",
                                                          "--etcd-prefix", prefix],
                               etcd=self.etcd.url, lease_ttl_seconds=ttl).start()
        self.addCleanup(self.cluster.stop)
        self.membership = self.cluster.membership_flags() + ["--etcd-prefix", prefix]

    def holder(self):
        return self.etcd.keys(self.key).get(self.key)

    def second(self, address=None):
        """A second process for partition 1, run to its end when refused."""
        address = address or "127.0.0.1:%d" % free_ports(1)[0]
        return run_refused(SERVER, "--listen", address, "--services", "user", "--shards", "1",
                           "--partitions", str(P), "--partition", "1", *self.membership,
                           timeout=30)

    def start_second(self):
        return Server(SERVER, "--shards", "1", "--shutdown-grace", "1", "--services", "user",
                      "--partitions", str(P), "--partition", "1", *self.membership)

    def partition_1_users(self, count):
        """Users created through member 0 that partition 1 holds."""
        stub = self.pb_grpc.UserServiceStub(self.cluster.members[0].channel)
        owned = []
        for _ in range(60):
            user = stub.CreateUser(self.pb.CreateUserRequest(
                name="F", email="f-%s@fence.test" % uuid.uuid4().hex[:10]), timeout=TIMEOUT)
            try:
                self.pb_grpc.UserServiceStub(self.cluster.members[1].channel).GetUser(
                    self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT,
                    metadata=[("percore-forwarded-from", "9")])
                owned.append(user)
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
            if len(owned) == count:
                return owned
        self.fail("partition 1 got no users")

    def test_a_second_process_for_a_held_partition_is_refused_and_the_holder_kept(self):
        first = self.cluster.addresses[1]
        users = self.partition_1_users(3)
        code, stderr = self.second()
        self.assertEqual(code, 2, stderr)
        self.assertIn("partition 1 is already served by %s" % first, stderr)
        self.assertEqual(self.holder(), first)
        self.assertIsNone(self.cluster.members[1].proc.poll())
        stub = self.pb_grpc.UserServiceStub(self.cluster.members[0].channel)
        for user in users:  # forwarded to the first, which still serves partition 1
            self.assertEqual(stub.GetUser(self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT),
                             user)

    def test_the_partition_is_taken_once_the_killed_holders_lease_expired(self):
        self.cluster.kill(1)
        wait_until("the killed member's lease expired", lambda: self.holder() is None, TTL + 5)
        taker = self.start_second()
        self.addCleanup(taker.stop)
        self.assertEqual(self.holder(), taker.address)

    def test_a_killed_member_restarted_on_its_own_address_waits_for_its_old_lease(self):
        address = self.cluster.addresses[1]
        users = self.partition_1_users(2)
        self.cluster.kill(1)
        restarted = self.cluster.start_member(1)  # the same port: waits, then registers
        self.assertIn("registered at this member's own address %s" % address,
                      restarted.stderr_text())
        self.assertEqual(self.holder(), address)
        stub = self.pb_grpc.UserServiceStub(self.cluster.members[0].channel)
        for user in users:  # no --data-dir: gone, but partition 1 answers again
            with self.assertRaises(grpc.RpcError) as e:
                stub.GetUser(self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT)
            self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_a_member_frozen_past_its_lease_stops_when_its_partition_was_taken(self):
        frozen = self.cluster.members[1]
        frozen.proc.send_signal(signal.SIGSTOP)
        try:
            wait_until("the frozen member's lease expired", lambda: self.holder() is None,
                       TTL + 5)
            taker = self.start_second()
            self.addCleanup(taker.stop)
        finally:
            frozen.proc.send_signal(signal.SIGCONT)
        code = frozen.proc.wait(timeout=30)
        self.cluster.members[1] = None
        self.assertEqual(code, 1, frozen.stderr_text()[-3000:])
        log = frozen.stderr_text()
        self.assertIn("lost the registration of partition 1", log)
        self.assertIn("already served by %s" % taker.address, log)
        self.assertEqual(self.holder(), taker.address)  # the new holder's key left alone
        self.assertIsNone(taker.proc.poll())


class DataDirPlacement(unittest.TestCase):
    """Member 1 of a 2-partition static cluster on its own --data-dir (member 0 never started:
    only its own users are asked for)."""

    def setUp(self):
        self.pb, self.pb_grpc = stub_modules("user.v1.user")
        self.tmp = tempfile.TemporaryDirectory(prefix="percore-placement-")
        self.addCleanup(self.tmp.cleanup)
        self.data = os.path.join(self.tmp.name, "p1")
        self.members = ["127.0.0.1:%d" % p for p in free_ports(4)]

    def flags(self, partitions, partition=1, grown=None):
        return ["--services", "user", "--shards", "1", "--data-dir", self.data,
                "--partitions", str(partitions), "--partition", str(partition), "--members",
                ",".join(self.members[:partitions]), *(["--grown", grown] if grown else [])]

    def serve(self, *flags):
        return Server(SERVER, "--listen", self.members[1], "--shutdown-grace", "1", *flags)

    def refused(self, *flags):
        code, stderr = run_refused(SERVER, "--listen", self.members[1], *flags)
        self.assertEqual(code, 2, stderr)
        self.assertNotIn("listening on", stderr)
        return stderr

    def test_a_restart_must_follow_from_the_recorded_placement(self):
        server = self.serve(*self.flags(2))
        stub = self.pb_grpc.UserServiceStub(server.channel)
        user = None
        for _ in range(40):  # an email partition 1 decides (partition 0 is not running)
            try:
                user = stub.CreateUser(self.pb.CreateUserRequest(
                    name="D", email="d-%s@placement.test" % uuid.uuid4().hex[:10]),
                    timeout=TIMEOUT)
                break
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIsNotNone(user)
        self.assertEqual(server.stop(), 0)
        with open(os.path.join(self.data, "CLUSTER")) as f:
            self.assertEqual(f.read(), "history=2\npartition=1\n")

        stderr = self.refused(*self.flags(3))
        self.assertIn("written by a cluster of 2 partitions", stderr)
        self.assertIn("tools/cluster grow", stderr)
        self.assertIn("started with --partitions 3", stderr)
        self.assertIn("written by a cluster of 2 partitions", self.refused(*self.flags(1, 0)))
        self.assertIn("holds partition 1's data", self.refused(*self.flags(2, partition=0)))
        self.assertIn("does not follow", self.refused(*self.flags(3, grown="1,3@1000")))

        grown = "2,3@%d" % int(time.time() * 1000)
        server = self.serve(*self.flags(3, grown=grown))
        self.assertEqual(self.pb_grpc.UserServiceStub(server.channel).GetUser(
            self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT), user)
        self.assertEqual(server.stop(), 0)
        with open(os.path.join(self.data, "CLUSTER")) as f:
            self.assertEqual(f.read(), "history=%s\npartition=1\n" % grown)

        stderr = self.refused(*self.flags(3))  # grown, restarted without its history
        self.assertIn("--grown %s" % grown, stderr)
        self.refused(*self.flags(2))
        server = self.serve(*self.flags(4, grown=grown + ",4@%d" % (int(time.time() * 1000) + 1)))
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
