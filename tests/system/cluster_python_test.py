"""A 3-partition percore cluster on loopback (static membership, services/cluster), driven by
Python's grpcio: any member answers any user call (forwarded one hop to the key's partition);
a user created through one member is read, updated and deleted through the others; one email
under 64 concurrent CreateUser calls spread over the members has exactly one winner; ListUsers
pages over every partition in id order with tokens valid at every member; WatchUserUpdates is
fanned in from every partition (one user's relayed from its partition); a call marked as
forwarded is never forwarded again; the caller's token crosses the hop (JWT on every member);
a killed partition's keys answer UNAVAILABLE within a second (and ListUsers, a watch of all
users) while the others keep working, and the partition restarted on its --data-dir has its
users back; bad cluster flags stop the start, naming the flag.
Usage: cluster_python_test.py PATH/TO/percore-server"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import grpc
import jwt

from percore_py.cluster import Cluster
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10
P = 3
SECRET = "percore-cluster-secret-0123456789abcdef"


class ClusterBase(unittest.TestCase):
    flags = ()

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="percore-cluster-")
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.cluster = Cluster(SERVER, P, flags=["--services", "user", *cls.member_flags_all()],
                              member_flags=cls.member_flags)
        cls.cluster.start()
        cls.channels = [grpc.insecure_channel(a) for a in cls.cluster.addresses]
        cls.stubs = [cls.pb_grpc.UserServiceStub(c) for c in cls.channels]

    @classmethod
    def member_flags_all(cls):
        return list(cls.flags)

    @classmethod
    def member_flags(cls, i):
        return []

    @classmethod
    def tearDownClass(cls):
        for c in cls.channels:
            c.close()
        codes = cls.cluster.stop()
        cls.dir.cleanup()
        assert all(code in (0, None) for code in codes), codes

    def create(self, member, email, name="Someone", **kwargs):
        return self.stubs[member].CreateUser(
            self.pb.CreateUserRequest(name=name, email=email), timeout=TIMEOUT, **kwargs)

    def email(self, tag):
        return "%s-%s@example.com" % (tag, uuid.uuid4().hex[:10])


class ClusterUserCalls(ClusterBase):
    def test_every_member_serves_every_user(self):
        for creator in range(P):
            user = self.create(creator, self.email("crud%d" % creator))
            for reader in range(P):
                got = self.stubs[reader].GetUser(self.pb.GetUserRequest(id=user.id),
                                                 timeout=TIMEOUT)
                self.assertEqual(got, user, "created via %d, read via %d" % (creator, reader))
            updater = (creator + 1) % P
            renamed = self.stubs[updater].UpdateUser(
                self.pb.UpdateUserRequest(id=user.id, name="Renamed %d" % updater),
                timeout=TIMEOUT)
            self.assertEqual(renamed.name, "Renamed %d" % updater)
            for reader in range(P):
                self.assertEqual(self.stubs[reader].GetUser(
                    self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT), renamed)
            self.stubs[(creator + 2) % P].DeleteUser(self.pb.DeleteUserRequest(id=user.id),
                                                     timeout=TIMEOUT)
            for reader in range(P):
                with self.assertRaises(grpc.RpcError) as e:
                    self.stubs[reader].GetUser(self.pb.GetUserRequest(id=user.id),
                                               timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_user_created_via_member_0_is_read_via_1_and_2(self):
        users = [self.create(0, self.email("m0")) for _ in range(12)]
        for user in users:
            for reader in (1, 2):
                self.assertEqual(self.stubs[reader].GetUser(
                    self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT), user)

    def test_users_spread_over_every_partition(self):
        # Each member's log names what it created; here: every member holds some of 30 users.
        users = [self.create(i % P, self.email("spread")) for i in range(30)]
        owners = set()
        for user in users:
            # Only the owner answers a call marked as forwarded: that finds the partition.
            for member in range(P):
                try:
                    self.stubs[member].GetUser(self.pb.GetUserRequest(id=user.id),
                                               timeout=TIMEOUT,
                                               metadata=[("percore-forwarded-from", "9")])
                    owners.add(member)
                    break
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(owners, set(range(P)))

    def test_duplicate_email_across_members(self):
        email = self.email("dup")
        first = self.create(0, email)
        for member in range(P):
            with self.assertRaises(grpc.RpcError) as e:
                self.create(member, email.upper())
            self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.assertEqual(self.stubs[2].GetUser(self.pb.GetUserRequest(id=first.id),
                                               timeout=TIMEOUT), first)

    def test_one_email_64_concurrent_creates_exactly_one_wins(self):
        for round_ in range(3):
            email = self.email("race%d" % round_)

            def attempt(i):
                try:
                    return self.create(i % P, email if i % 2 else email.upper(), name="R%d" % i)
                except grpc.RpcError as e:
                    return e.code()

            with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
                results = list(pool.map(attempt, range(64)))
            winners = [r for r in results if not isinstance(r, grpc.StatusCode)]
            losers = [r for r in results if isinstance(r, grpc.StatusCode)]
            self.assertEqual(len(winners), 1, results)
            self.assertEqual(set(losers), {grpc.StatusCode.ALREADY_EXISTS})
            for member in range(P):
                self.assertEqual(self.stubs[member].GetUser(
                    self.pb.GetUserRequest(id=winners[0].id), timeout=TIMEOUT), winners[0])

    def list_page(self, member, page_size, token="", metadata=()):
        call = self.stubs[member].ListUsers(
            self.pb.ListUsersRequest(page_size=page_size, page_token=token), timeout=TIMEOUT,
            metadata=list(metadata))
        users = list(call)
        token = dict(call.trailing_metadata() or ()).get("next-page-token") or ""
        return users, token

    def list_all(self, page_size, members):
        users, token, pages = [], "", 0
        while True:
            page, token = self.list_page(members[pages % len(members)], page_size, token)
            self.assertLessEqual(len(page), page_size)
            users.extend(page)
            pages += 1
            if not token:
                return users

    def test_list_users_merges_every_partition_in_order_tokens_valid_everywhere(self):
        made = {self.create(i % P, self.email("list")).id for i in range(40)}
        # Page tokens taken by the next member each time: every member honours any member's.
        for page_size, members in ((7, [0, 1, 2]), (1000, [1]), (13, [2, 0])):
            listed = self.list_all(page_size, members)
            ids = [u.id for u in listed]
            self.assertEqual(len(ids), len(set(ids)), "a user listed twice")
            self.assertEqual(ids, sorted(ids), "not in id order")
            self.assertLessEqual(made, set(ids))
        # A member's (marked) list is its own partition's users only; together: everyone once.
        union = []
        for member in range(P):
            users, token = self.list_page(member, 1000,
                                          metadata=[("percore-forwarded-from", "9")])
            self.assertEqual(token, "")
            union.extend(u.id for u in users)
        self.assertEqual(sorted(union), sorted(u.id for u in self.list_all(1000, [0])))

    def test_email_change_within_and_across_partitions(self):
        user = self.create(1, self.email("move"))
        owner = next(m for m in range(P) if self.owns(m, user.id))
        same, other = None, None
        for i in range(60):
            candidate = self.email("target%d" % i)
            probe = self.create(0, candidate)  # lands on the email's partition
            if self.owns(owner, probe.id):
                same = same or (candidate, probe)
            else:
                other = other or (candidate, probe)
            if same and other:
                break
        # Same partition: the claim is decided there, as in one process.
        with self.assertRaises(grpc.RpcError) as e:
            self.stubs[2].UpdateUser(self.pb.UpdateUserRequest(id=user.id, email=same[0]),
                                     timeout=TIMEOUT)
        self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.stubs[0].DeleteUser(self.pb.DeleteUserRequest(id=same[1].id), timeout=TIMEOUT)
        moved = self.stubs[2].UpdateUser(self.pb.UpdateUserRequest(id=user.id, email=same[0]),
                                         timeout=TIMEOUT)
        self.assertEqual(moved.email, same[0])
        # Another partition's email: claimed on that partition, the user staying where it is
        # (cluster_email_python_test.py has the cases).
        self.stubs[0].DeleteUser(self.pb.DeleteUserRequest(id=other[1].id), timeout=TIMEOUT)
        moved = self.stubs[1].UpdateUser(self.pb.UpdateUserRequest(id=user.id, email=other[0]),
                                         timeout=TIMEOUT)
        self.assertEqual(moved.email, other[0])
        self.assertTrue(self.owns(owner, user.id))
        self.assertEqual(self.stubs[0].GetUser(self.pb.GetUserRequest(id=user.id),
                                               timeout=TIMEOUT), moved)

    def watch(self, member, user_id=""):
        """A watch through `member`, read in a thread: (call, events list, registered event)."""
        call = self.stubs[member].WatchUserUpdates(self.pb.WatchUserRequest(user_id=user_id),
                                                   timeout=30)
        events = []
        registered = threading.Event()

        def read():
            call.initial_metadata()  # sent once every partition has registered the watch
            registered.set()
            try:
                for update in call:
                    events.append(update)
            except grpc.RpcError:
                pass

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        self.assertTrue(registered.wait(TIMEOUT))
        return call, events, thread

    def wait_for(self, events, count):
        deadline = time.monotonic() + TIMEOUT
        while len(events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(events) >= count

    def test_watch_all_users_fans_in_from_every_partition(self):
        call, events, thread = self.watch(1)
        made = [self.create(i % P, self.email("watch")) for i in range(12)]
        self.assertTrue(self.wait_for(events, 12), len(events))
        seen = {e.user.id for e in events if e.type == self.pb.UserUpdate.UPDATE_TYPE_CREATED}
        self.assertLessEqual({u.id for u in made}, seen)
        call.cancel()
        thread.join(TIMEOUT)

    def test_watch_one_user_is_relayed_from_its_partition(self):
        user = self.create(0, self.email("watch1"))
        for member in range(P):
            call, events, thread = self.watch(member, user.id)
            self.stubs[(member + 1) % P].UpdateUser(
                self.pb.UpdateUserRequest(id=user.id, name="Seen via %d" % member),
                timeout=TIMEOUT)
            self.assertTrue(self.wait_for(events, 1))
            self.assertEqual(events[0].user.name, "Seen via %d" % member)
            call.cancel()
            thread.join(TIMEOUT)

    def test_forwarded_call_is_not_forwarded_again(self):
        user = self.create(0, self.email("loop"))
        refused = 0
        for member in range(P):
            try:
                self.stubs[member].GetUser(self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT,
                                           metadata=[("percore-forwarded-from", "7")])
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
                self.assertIn("misrouted call: partition 7 forwarded it", e.details())
                refused += 1
        self.assertEqual(refused, P - 1)  # the owner alone serves it

    def test_malformed_id_is_named_by_any_member(self):
        for member in range(P):
            with self.assertRaises(grpc.RpcError) as e:
                self.stubs[member].GetUser(self.pb.GetUserRequest(id="not-a-uuid"),
                                           timeout=TIMEOUT)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("id", e.exception.details())

    def test_deadline_bounds_a_forwarded_call_to_a_frozen_owner(self):
        user = self.create(0, self.email("frozen"))
        owner = next(m for m in range(P) if self.owns(m, user.id))
        via = (owner + 1) % P
        os.kill(self.cluster.members[owner].proc.pid, 19)  # SIGSTOP
        try:
            start = time.monotonic()
            with self.assertRaises(grpc.RpcError) as e:
                self.stubs[via].GetUser(self.pb.GetUserRequest(id=user.id), timeout=0.5)
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            self.assertLess(time.monotonic() - start, 5)
        finally:
            os.kill(self.cluster.members[owner].proc.pid, 18)  # SIGCONT
        self.assertEqual(self.stubs[via].GetUser(self.pb.GetUserRequest(id=user.id),
                                                 timeout=TIMEOUT), user)

    def owns(self, member, user_id):
        try:
            self.stubs[member].GetUser(self.pb.GetUserRequest(id=user_id), timeout=TIMEOUT,
                                       metadata=[("percore-forwarded-from", "9")])
            return True
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            return False


class ClusterAuth(ClusterBase):
    """JWT on every member: the caller's token crosses the hop, and the owner applies the rule."""

    @classmethod
    def member_flags_all(cls):
        path = os.path.join(cls.dir.name, "secret")
        with open(path, "w") as f:
            f.write(SECRET)
        return ["--jwt-secret-file", path]

    def token(self, sub, roles):
        now = int(time.time())
        return jwt.encode({"sub": sub, "roles": roles, "iat": now, "exp": now + 300}, SECRET,
                          algorithm="HS256")

    def test_token_crosses_the_hop(self):
        admin = [("authorization", "Bearer " + self.token("root", ["admin"]))]
        users = [self.create(i % P, self.email("auth"), metadata=admin) for i in range(9)]
        for user in users:
            mine = [("authorization", "Bearer " + self.token(user.id, ["user"]))]
            for member in range(P):
                got = self.stubs[member].GetUser(self.pb.GetUserRequest(id=user.id),
                                                 timeout=TIMEOUT, metadata=mine)
                self.assertEqual(got, user)
                with self.assertRaises(grpc.RpcError) as e:
                    self.stubs[member].GetUser(self.pb.GetUserRequest(id=user.id),
                                               timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        other = [("authorization", "Bearer " + self.token(users[0].id, ["user"]))]
        for member in range(P):
            with self.assertRaises(grpc.RpcError) as e:
                self.stubs[member].GetUser(self.pb.GetUserRequest(id=users[1].id),
                                           timeout=TIMEOUT, metadata=other)
            self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)


class ClusterPartitionDown(ClusterBase):
    """Each member on its own --data-dir: one killed, its keys UNAVAILABLE fast, then back."""

    @classmethod
    def member_flags(cls, i):
        return ["--data-dir", os.path.join(cls.dir.name, "p%d" % i), "--fsync", "always"]

    def owner_of(self, user_id):
        for member in range(P):
            if self.cluster.members[member] is None:
                continue
            try:
                self.stubs[member].GetUser(self.pb.GetUserRequest(id=user_id), timeout=TIMEOUT,
                                           metadata=[("percore-forwarded-from", "9")])
                return member
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
        return None

    def test_killed_partition_fails_fast_others_go_on_restart_brings_data_back(self):
        users = [self.create(i % P, self.email("down")) for i in range(30)]
        by_owner = {}
        for user in users:
            by_owner.setdefault(self.owner_of(user.id), []).append(user)
        self.assertEqual(set(by_owner), set(range(P)))
        dead = 1
        self.cluster.kill(dead)
        for via in (m for m in range(P) if m != dead):
            for user in by_owner[dead]:
                start = time.monotonic()
                with self.assertRaises(grpc.RpcError) as e:
                    self.stubs[via].GetUser(self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT)
                elapsed = time.monotonic() - start
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
                self.assertIn("partition %d" % dead, e.exception.details())
                self.assertLess(elapsed, 1.0, "UNAVAILABLE took %.2fs" % elapsed)
            for owner, owned in by_owner.items():
                if owner == dead:
                    continue
                for user in owned:
                    self.assertEqual(self.stubs[via].GetUser(
                        self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT), user)
            # New users whose email belongs elsewhere are still created.
            made = 0
            for _ in range(12):  # about a third of the emails belong to the dead partition
                try:
                    self.create(via, self.email("while-down"))
                    made += 1
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertGreater(made, 0)
            # A page over the cluster without the dead partition would look complete: refused.
            with self.assertRaises(grpc.RpcError) as e:
                list(self.stubs[via].ListUsers(self.pb.ListUsersRequest(page_size=100),
                                               timeout=TIMEOUT))
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("partition %d" % dead, e.exception.details())
            # So does a watch of every user: it would silently miss the partition's changes.
            with self.assertRaises(grpc.RpcError) as e:
                list(self.stubs[via].WatchUserUpdates(self.pb.WatchUserRequest(),
                                                      timeout=TIMEOUT))
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("partition %d" % dead, e.exception.details())

        self.cluster.start_member(dead)
        deadline = time.monotonic() + 10
        for via in range(P):
            for user in by_owner[dead]:
                while True:
                    try:
                        got = self.stubs[via].GetUser(self.pb.GetUserRequest(id=user.id),
                                                      timeout=TIMEOUT)
                        break
                    except grpc.RpcError as e:
                        # The channel to the restarted member reconnects within its backoff.
                        if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
                self.assertEqual(got, user)


class ClusterFlags(unittest.TestCase):
    """Bad cluster flags stop the start (exit 2) with a message naming the flag."""

    def test_bad_flags_are_named(self):
        cases = [
            (["--partitions", "0"], "--partitions wants a whole number from 1 to 1024"),
            (["--partitions", "3", "--members", "a:1,b:2,c:3"], "--partition I"),
            (["--partitions", "3", "--partition", "3", "--members", "a:1,b:2,c:3"],
             "I from 0 to 2"),
            (["--partitions", "3", "--partition", "0", "--members", "a:1,b:2"],
             "--members lists 2 addresses"),
            (["--partitions", "2", "--partition", "0", "--members", "a:1,nocolon"],
             "--members wants HOST:PORT"),
            (["--partition", "1"], "need --partitions"),
        ]
        for flags, message in cases:
            done = subprocess.run([SERVER, "--listen", "127.0.0.1:0", *flags],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 2, flags)
            self.assertIn(message, done.stderr, flags)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
