"""Email changes across the partitions of a 3-partition percore cluster on loopback (issue 14,
services/cluster/README.md "## Emails"), driven by Python's grpcio. A user stays on the partition
that created it; an UpdateUser to an email whose key another partition owns claims it there,
writes the user, then frees the old email on its partition:
- through each member: the id unchanged, every member reads the new email, the new email taken
  (at every member), the old one free for a new user at once;
- 16 concurrent claims of one new email (8 updates of users on every partition, 8 creations,
  spread over the members): exactly one wins, the losers unchanged;
- the new email's partition killed: UNAVAILABLE naming it, the user unchanged; restarted on its
  --data-dir (snapshots every KiB), the claim it journaled for another partition's user is
  still held;
- a stale claim (the claim a claimer leaves when it dies between claim and write, made here by
  the very marked call a member sends) is freed by the next claim of that email, also after the
  claimer's partition restarted; while that partition is down the claim is not broken;
- a release is only a request: a claim whose user still has the email stays; the member calls
  are refused unmarked;
- with JWT on every member and a `service` --peer-token-file, a user moves its own email across
  partitions with its own token, and that token cannot make a member's claim call.
Usage: cluster_email_python_test.py PATH/TO/percore-server"""

import concurrent.futures
import os
import threading
import time
import uuid

import grpc

from user_cluster_support import MARK, P, TIMEOUT, UserClusterCase, main, token, write_file

SECRET = "percore-cluster-email-secret-0123456789abcdef"


class ClusterEmails(UserClusterCase):
    @classmethod
    def cluster_flags(cls):
        # Snapshots while serving every KiB of log: claims of other partitions' users must be in
        # them (the log before the cut is dropped).
        return ["--snapshot-every", "1KiB"]

    @classmethod
    def member_flags(cls, i):
        return ["--data-dir", os.path.join(cls.dir.name, "p%d" % i)]

    # --- helpers ---------------------------------------------------------------------------

    def update_email(self, member, user_id, email):
        return self.stubs[member].UpdateUser(
            self.pb.UpdateUserRequest(id=user_id, email=email), timeout=TIMEOUT)

    def error(self, fn, *args):
        with self.assertRaises(grpc.RpcError) as e:
            fn(*args)
        return e.exception

    def email_partition(self, email):
        """The partition owning the email's key: the one member where a marked CreateUser gets
        as far as the handler (an empty name: INVALID_ARGUMENT, nothing created)."""
        for member in range(P):
            try:
                self.stubs[member].CreateUser(self.pb.CreateUserRequest(name="", email=email),
                                              timeout=TIMEOUT, metadata=[MARK])
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    return member
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
        raise AssertionError("no member owns email %s" % email)

    def email_on(self, partition, tag):
        for _ in range(200):
            email = self.email(tag)
            if self.email_partition(email) == partition:
                return email
        raise AssertionError("no email found for partition %d" % partition)

    def user_on(self, partition, tag):
        """A new user living on `partition` (created with one of its emails)."""
        user = self.create((partition + 1) % P, self.email_on(partition, tag))
        self.assertEqual(self.user_partition(user.id), partition)
        return user

    def refusal(self, member, email):
        """Why a CreateUser with `email` through `member` is refused (UNAVAILABLE raised)."""
        e = self.error(self.create, member, email)
        if e.code() == grpc.StatusCode.UNAVAILABLE:
            raise e
        return e

    def assert_taken(self, email):
        for member in range(P):
            e = self.eventually(self.refusal, member, email)
            self.assertEqual(e.code(), grpc.StatusCode.ALREADY_EXISTS, (member, e.details()))

    def claim_by_hand(self, member, email, user_id, mark="percore-email-claim"):
        """The marked call a member sends the email's partition to claim it for `user_id`."""
        return self.stubs[member].CreateUser(self.pb.CreateUserRequest(email=email),
                                             timeout=TIMEOUT, metadata=[MARK, (mark, user_id)])

    def restart(self, member):
        self.cluster.start_member(member)
        deadline = time.monotonic() + TIMEOUT
        while True:  # the others' channels reconnect within their backoff
            try:
                for via in range(P):
                    list(self.stubs[via].ListUsers(self.pb.ListUsersRequest(page_size=1),
                                                   timeout=TIMEOUT))
                return
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def eventually(self, fn, *args):
        """fn(*args), retried while UNAVAILABLE: after a restart each shard of every other member
        reconnects to it within its backoff (about a second)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                return fn(*args)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # --- cases -----------------------------------------------------------------------------

    def test_email_moves_to_another_partition_through_each_member(self):
        for via in range(P):
            home = (via + 1) % P
            user = self.user_on(home, "home%d" % via)
            old = user.email
            # Once through `via` (forwarded to the user's partition), once through its own.
            for target, member in zip((p for p in range(P) if p != home), (via, home)):
                new = self.email_on(target, "moved%d" % via)
                moved = self.update_email(member, user.id, new)
                self.assertEqual((moved.id, moved.email, moved.name), (user.id, new, user.name))
                self.assertEqual(self.user_partition(user.id), home)  # the user did not move
                for reader in range(P):
                    self.assertEqual(self.get(reader, user.id), moved)
                self.assert_taken(new)
                self.assert_taken(new.upper())  # the claim is by the lower-cased key
                # The old email is free at once: a new user takes it (then gives it back).
                taker = self.create((via + 2) % P, old)
                self.stubs[via].DeleteUser(self.pb.DeleteUserRequest(id=taker.id),
                                           timeout=TIMEOUT)
                old = new
            # And back to one of its own partition's emails: the remote claim freed too.
            own = self.email_on(home, "back%d" % via)
            self.assertEqual(self.update_email(via, user.id, own).email, own)
            self.create(via, old)
            # Deleting a user whose email is another partition's frees that email too.
            far = self.email_on((home + 1) % P, "far%d" % via)
            self.update_email(via, user.id, far)
            self.stubs[via].DeleteUser(self.pb.DeleteUserRequest(id=user.id), timeout=TIMEOUT)
            self.create(via, far)

    def test_sixteen_concurrent_claims_of_one_email_one_wins(self):
        target = 2
        for round_ in range(3):
            new = self.email_on(target, "race%d" % round_)
            users = [self.user_on(i % P, "racer%d" % round_) for i in range(8)]
            barrier = threading.Barrier(16)

            def update(i):
                barrier.wait()
                return self.update_email(i % P, users[i].id, new)

            def create(i):
                barrier.wait()
                return self.create(i % P, new)

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(update, i) for i in range(8)]
                futures += [pool.submit(create, i) for i in range(8)]
                wins, codes = [], []
                for f in futures:
                    try:
                        wins.append(f.result())
                    except grpc.RpcError as e:
                        codes.append(e.code())
            self.assertEqual(len(wins), 1, codes)
            self.assertEqual(set(codes), {grpc.StatusCode.ALREADY_EXISTS})
            self.assertEqual(wins[0].email, new)
            for user in users:
                got = self.get(0, user.id)
                self.assertEqual(got.email, new if got.id == wins[0].id else user.email)
            self.assert_taken(new)

    def test_email_partition_down_unavailable_user_unchanged_claim_survives_restart(self):
        dead = 2
        user = self.user_on(0, "victim")
        new = self.email_on(dead, "unreachable")
        held = self.user_on(1, "holder")
        held_email = self.email_on(dead, "held")
        self.update_email(1, held.id, held_email)  # a claim partition 2 holds for partition 1
        for i in range(24):  # log enough after it for a snapshot of every shard there
            self.create(i % P, self.email_on(dead, "filler"))
        time.sleep(0.5)  # the snapshotter looks every 100 ms (either way the claim must survive)
        self.cluster.kill(dead)
        try:
            for via in (0, 1):
                e = self.error(self.update_email, via, user.id, new)
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
                self.assertIn("partition %d" % dead, e.details())
                self.assertEqual(self.get(via, user.id), user)
        finally:
            self.restart(dead)
        self.assert_taken(held_email)  # journaled there, back after the restart
        self.assertEqual(self.eventually(self.update_email, 0, user.id, new).email, new)
        self.assert_taken(new)
        self.create(1, user.email)

    def test_stale_claim_is_freed_by_the_next_claim(self):
        # A user of partition 0 that never got the email: its partition's claim on partition 2
        # left behind, as when partition 0 dies between the claim and the user's write.
        user = self.user_on(0, "claimer")
        email = self.email_on(2, "stale")
        claimed = self.claim_by_hand(2, email, user.id)
        self.assertEqual((claimed.id, claimed.email), (user.id, email))
        self.assertEqual(self.get(1, user.id), user)  # the user does not have it
        # The next claim asks partition 0, which disowns it: freed, and the creation wins.
        taker = self.create(1, email)
        self.assertEqual(taker.email, email)
        self.assert_taken(email)

        # The same after the claimer's partition died and came back (and while it is down the
        # claim is not broken: nobody can say it is stale).
        email = self.email_on(2, "stale-dead")
        self.claim_by_hand(2, email, user.id)
        self.cluster.kill(0)
        try:
            e = self.error(self.create, 1, email)
            self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
            self.assertIn("partition 0", e.details())
        finally:
            self.restart(0)
        other = self.user_on(1, "second")
        self.assertEqual(self.eventually(self.update_email, 1, other.id, email).email, email)
        self.assert_taken(email)

    def test_stale_claim_survives_its_partition_restart_then_repaired(self):
        user = self.user_on(1, "claimer2")
        email = self.email_on(2, "journaled")
        self.claim_by_hand(2, email, user.id)
        self.cluster.kill(2)
        self.restart(2)
        # Journaled on partition 2: still there after its restart, and still repaired.
        self.assertEqual(self.eventually(self.create, 0, email).email, email)

    def test_release_frees_only_a_claim_its_user_disowns(self):
        user = self.user_on(0, "keeper")
        email = self.email_on(1, "kept")
        self.update_email(2, user.id, email)
        # Asked to release while the user still has it: refused, still taken.
        e = self.error(self.claim_by_hand, 1, email, user.id, "percore-email-release")
        self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION, e.details())
        self.assert_taken(email)
        # A claim for another user while it is held: ALREADY_EXISTS.
        other = self.user_on(2, "thief")
        e = self.error(self.claim_by_hand, 1, email, other.id)
        self.assertEqual(e.code(), grpc.StatusCode.ALREADY_EXISTS)

    def test_member_calls_refused_unmarked(self):
        user = self.user_on(0, "plain")
        email = self.email_on(1, "plain")
        e = self.error(lambda: self.stubs[1].CreateUser(
            self.pb.CreateUserRequest(email=email), timeout=TIMEOUT,
            metadata=[("percore-email-claim", user.id)]))
        self.assertEqual(e.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.create(2, email)  # nothing was claimed


class ClusterEmailsAuth(UserClusterCase):
    """JWT on every member, --peer-token-file a `service` token: a user moves its own email to
    another partition's (the members' calls carry the peer token), a user's token cannot make
    a member's call."""

    @classmethod
    def cluster_flags(cls):
        return ["--jwt-secret-file", write_file(cls.dir.name, "secret", SECRET),
                "--peer-token-file",
                write_file(cls.dir.name, "peer", token(SECRET, "percore-members", ["service"]))]

    def test_user_moves_own_email_across_partitions(self):
        admin = [("authorization", "Bearer " + token(SECRET, "root", ["admin"]))]
        user = self.stubs[0].CreateUser(
            self.pb.CreateUserRequest(name="Mover",
                                      email="mover-%s@example.com" % uuid.uuid4().hex),
            timeout=TIMEOUT, metadata=admin)
        mine = [("authorization", "Bearer " + token(SECRET, user.id, ["user"]))]
        for i in range(12):  # about two thirds of these belong to another partition
            email = "moved-%d-%s@example.com" % (i, uuid.uuid4().hex[:8])
            got = self.stubs[i % P].UpdateUser(self.pb.UpdateUserRequest(id=user.id, email=email),
                                               timeout=TIMEOUT, metadata=mine)
            self.assertEqual((got.id, got.email), (user.id, email))
        # A user's own token cannot send a member's claim call: the email's partition refuses
        # it (the others refuse it as misrouted).
        email = "x-%s@example.com" % uuid.uuid4().hex
        codes = []
        for member in range(P):
            with self.assertRaises(grpc.RpcError) as e:
                self.stubs[member].CreateUser(
                    self.pb.CreateUserRequest(email=email), timeout=TIMEOUT,
                    metadata=mine + [MARK, ("percore-email-claim", user.id)])
            codes.append(e.exception.code())
        self.assertEqual(sorted(codes, key=str), sorted(
            [grpc.StatusCode.PERMISSION_DENIED] + [grpc.StatusCode.UNAVAILABLE] * (P - 1), key=str))


if __name__ == "__main__":
    main()
