"""A 3-partition percore cluster whose members find each other through a real etcd (Debian's
etcd-server, started and stopped here on loopback ports with a temporary data directory):
each member registers PREFIX/members/<partition> = its address under a lease (TTL 2 s here) and
watches the prefix (services/cluster/etcd_membership.h). Calls through one member reach every
partition's users; a killed member's lease expires and the others drop it (its keys answer
UNAVAILABLE "no live member" within TTL + 1 s) while the other partitions keep working; started
again on a new port (its --data-dir kept) it registers again, the others route to the new
address and its users are back; with etcd stopped the members keep working on the last known
members; etcd named but unreachable stops the start with a clear error; a member that drains
(SIGTERM) revokes its lease and is dropped at once; bad membership flags are refused.
Usage: cluster_etcd_python_test.py PATH/TO/percore-server"""

import os
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import grpc

from percore_py.cluster import Cluster, free_ports
from percore_py.etcd import Etcd
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10
P = 3
TTL = 2
NO_MEMBER = "no live member registered"


class EtcdCluster(unittest.TestCase):
    """One etcd and one cluster for the ordered cases below (test_1 ... test_4)."""

    @classmethod
    def setUpClass(cls):
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.dir = tempfile.TemporaryDirectory(prefix="percore-cluster-etcd-")
        cls.etcd = Etcd().start()
        cls.cluster = Cluster(
            SERVER, P, shards=1, flags=["--services", "user"], etcd=cls.etcd.url,
            lease_ttl_seconds=TTL,
            member_flags=lambda i: ["--data-dir", os.path.join(cls.dir.name, "p%d" % i)])
        try:
            cls.cluster.start()
        except BaseException:
            cls.etcd.stop()
            raise
        cls.users = []  # created by test_1, by owning partition: [(partition, user)]

    @classmethod
    def tearDownClass(cls):
        codes = cls.cluster.stop()
        cls.etcd.stop()
        cls.dir.cleanup()
        assert all(code in (0, None) for code in codes), codes

    def stub(self, member):
        return self.pb_grpc.UserServiceStub(self.cluster.members[member].channel)

    def get(self, member, user_id, **kwargs):
        return self.stub(member).GetUser(self.pb.GetUserRequest(id=user_id), timeout=TIMEOUT,
                                         **kwargs)

    def owner_of(self, user_id):
        # Only the owner serves a call marked as forwarded (the others refuse it UNAVAILABLE).
        for member in range(P):
            try:
                self.get(member, user_id, metadata=[("percore-forwarded-from", "9")])
                return member
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.fail("no member owns %s" % user_id)

    def wait_members(self, member, text, timeout):
        """Waits until `member`'s log shows the member list `text` (its etcd watch saw it)."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if text in self.cluster.members[member].stderr_text():
                return
            time.sleep(0.05)
        self.fail("member %d never logged %r:\n%s" % (
            member, text, self.cluster.members[member].stderr_text()[-3000:]))

    def test_1_calls_through_one_member_reach_every_partition(self):
        self.assertEqual(self.etcd.keys("/percore/members/"),
                         {"/percore/members/%d" % i: a
                          for i, a in enumerate(self.cluster.addresses)})
        # The start-up line names where the members come from (it once printed an empty list).
        log = self.cluster.members[0].stderr_text()
        self.assertIn("partition 0 of %d; members from etcd" % P, log)
        self.assertNotIn("members \n", log)
        made = [self.stub(0).CreateUser(self.pb.CreateUserRequest(
            name="E%d" % i, email="etcd%d-%s@example.com" % (i, uuid.uuid4().hex[:8])),
            timeout=TIMEOUT) for i in range(15)]
        for user in made:
            for member in range(P):
                self.assertEqual(self.get(member, user.id), user)
            type(self).users.append((self.owner_of(user.id), user))
        self.assertEqual({owner for owner, _ in self.users}, set(range(P)))

    def test_2_killed_member_is_dropped_after_its_lease_then_back_on_a_new_port(self):
        victim = 2
        lost = [u for owner, u in self.users if owner == victim]
        kept = [u for owner, u in self.users if owner != victim]
        self.cluster.kill(victim)
        killed_at = time.monotonic()
        # Its lease expires (no renewal) and the others' watches drop it.
        dropped_after, details = None, ""
        while time.monotonic() - killed_at < TTL + 10:
            try:
                self.get(0, lost[0].id)
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
                details = e.details()
                if NO_MEMBER in details:
                    dropped_after = time.monotonic() - killed_at
                    break
            time.sleep(0.05)
        self.assertIsNotNone(dropped_after, "partition %d never dropped: %s" % (victim, details))
        # After its lease (etcd's own expiry check lags it by up to a second), not at the
        # generous bound of the loop; a loaded sanitizer build adds its own delay.
        self.assertLessEqual(dropped_after, TTL + 3.0)
        self.assertIn("partition %d" % victim, details)
        self.assertNotIn("/percore/members/%d" % victim, self.etcd.keys("/percore/members/"))
        for user in lost:
            with self.assertRaises(grpc.RpcError) as e:
                self.get(1, user.id)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        for user in kept:
            for member in (0, 1):
                self.assertEqual(self.get(member, user.id), user)

        old_address = self.cluster.addresses[victim]
        self.cluster.start_member(victim, new_port=True)
        new_address = self.cluster.addresses[victim]
        self.assertNotEqual(new_address, old_address)
        for member in (0, 1):
            self.wait_members(member, "%d=%s" % (victim, new_address), timeout=5)
        for user in lost:  # its --data-dir brought them back; reached at the new address
            for member in range(P):
                self.assertEqual(self.get(member, user.id), user)

    def test_3_drained_member_is_dropped_at_once(self):
        # SIGTERM revokes the lease: the others drop it without waiting for the TTL.
        victim = 1
        user = next(u for owner, u in self.users if owner == victim)
        self.assertEqual(self.cluster.stop_member(victim), 0)
        self.wait_members(0, "%d=-" % victim, timeout=TTL - 0.5)
        with self.assertRaises(grpc.RpcError) as e:
            self.get(0, user.id)
        self.assertIn(NO_MEMBER, e.exception.details())
        self.cluster.start_member(victim, new_port=True)
        for member in (0, 2):
            self.wait_members(member, "%d=%s" % (victim, self.cluster.addresses[victim]), 5)
        self.assertEqual(self.get(0, user.id), user)

    def test_4_etcd_stopped_members_keep_the_last_known_members(self):
        self.etcd.stop()
        # Longer than a lease: nothing expires on the members' side while etcd is away.
        time.sleep(TTL + 1)
        for owner, user in self.users:
            for member in range(P):
                self.assertEqual(self.get(member, user.id), user)
        for member in range(P):  # logged when its next renewal fails (asked until then)
            self.wait_members(member, "keeping the last known members", TIMEOUT)


class EtcdFlags(unittest.TestCase):
    def run_server(self, *flags):
        return subprocess.run([SERVER, "--listen", "127.0.0.1:0", "--shards", "1", *flags],
                              capture_output=True, text=True, timeout=30)

    def test_unreachable_etcd_stops_the_start_naming_it(self):
        url = "http://127.0.0.1:%d" % free_ports(1)[0]
        started = time.monotonic()
        result = self.run_server("--partitions", "3", "--partition", "0", "--etcd", url,
                                 "--etcd-connect-timeout-seconds", "1")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("--etcd " + url + ": no endpoint answered within 1 s", result.stderr)
        self.assertNotIn("listening on", result.stdout)
        self.assertLess(time.monotonic() - started, 20)

    def test_bad_flags_are_refused_naming_them(self):
        cases = [
            (["--partitions", "3", "--partition", "0", "--etcd", "127.0.0.1:2379"], "--etcd wants"),
            (["--partitions", "3", "--partition", "0", "--etcd", "http://127.0.0.1:2379",
              "--members", "a:1,b:2,c:3"], "not both"),
            (["--partitions", "3", "--partition", "0", "--members", "a:1,b:2,c:3",
              "--advertise", "a:1"], "--advertise and --etcd-prefix need --etcd"),
            (["--partitions", "3", "--partition", "0", "--etcd", "http://127.0.0.1:2379",
              "--etcd-lease-ttl-seconds", "0"], "--etcd-lease-ttl-seconds wants"),
            (["--partitions", "3", "--partition", "0", "--etcd", "http://127.0.0.1:2379",
              "--listen", "0.0.0.0:0"], "--etcd needs --advertise"),
            (["--partitions", "3", "--partition-from-hostname", "--partition", "1",
              "--members", "a:1,b:2,c:3"], "not both"),
        ]
        for flags, message in cases:
            result = self.run_server(*flags)
            self.assertNotEqual(result.returncode, 0, flags)
            self.assertIn(message, result.stderr, flags)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
