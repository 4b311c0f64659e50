"""A 3-partition percore cluster on loopback (static membership, services/cluster), driven by
Python's grpcio: any member answers any user call (forwarded one hop to the key's partition);
a user created through one member is read, updated and deleted through the others; one email
under 64 concurrent CreateUser calls spread over the members has exactly one winner; ListUsers
pages over every partition in id order with tokens valid at every member; WatchUserUpdates is
fanned in from every partition (one user's relayed from its partition); a call marked as
forwarded is never forwarded again. (Tokens across the hop, a partition down and bad cluster
flags: cluster_faults_python_test.py.)
Usage: cluster_python_test.py PATH/TO/percore-server"""

import concurrent.futures
import os
import threading
import time

import grpc

from user_cluster_support import MARK, P, TIMEOUT, UserClusterCase, main


class ClusterUserCalls(UserClusterCase):
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
        # Only the owner answers a call marked as forwarded: that finds the partition.
        owners = {self.user_partition(user.id) for user in users}
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
                                          metadata=[MARK])
            self.assertEqual(token, "")
            union.extend(u.id for u in users)
        self.assertEqual(sorted(union), sorted(u.id for u in self.list_all(1000, [0])))

    def test_email_change_within_and_across_partitions(self):
        user = self.create(1, self.email("move"))
        owner = self.user_partition(user.id)
        same, other = None, None
        for i in range(60):
            candidate = self.email("target%d" % i)
            probe = self.create(0, candidate)  # lands on the email's partition
            if self.user_partition(probe.id) == owner:
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
        self.assertEqual(self.user_partition(user.id), owner)
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
        owner = self.user_partition(user.id)
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

if __name__ == "__main__":
    main()
