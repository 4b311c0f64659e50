"""A 3-partition percore cluster on loopback (services/cluster), driven by Python's grpcio, when
things go wrong: the caller's token crosses the hop (JWT on every member, the owner applies the
rule); a killed partition's keys answer UNAVAILABLE within a second (and ListUsers, a watch of
all users) while the others keep working, and the partition restarted on its --data-dir has its
users back; bad cluster flags stop the start, naming the flag. (The calls themselves:
cluster_python_test.py.)
Usage: cluster_faults_python_test.py PATH/TO/percore-server"""

import os
import subprocess
import time
import unittest

import grpc

from user_cluster_support import P, TIMEOUT, UserClusterCase, main, token, write_file

SECRET = "percore-cluster-secret-0123456789abcdef"


class ClusterAuth(UserClusterCase):
    """JWT on every member: the caller's token crosses the hop, and the owner applies the rule."""

    @classmethod
    def cluster_flags(cls):
        return ["--jwt-secret-file", write_file(cls.dir.name, "secret", SECRET)]

    def test_token_crosses_the_hop(self):
        admin = [("authorization", "Bearer " + token(SECRET, "root", ["admin"]))]
        users = [self.create(i % P, self.email("auth"), metadata=admin) for i in range(9)]
        for user in users:
            mine = [("authorization", "Bearer " + token(SECRET, user.id, ["user"]))]
            for member in range(P):
                got = self.stubs[member].GetUser(self.pb.GetUserRequest(id=user.id),
                                                 timeout=TIMEOUT, metadata=mine)
                self.assertEqual(got, user)
                with self.assertRaises(grpc.RpcError) as e:
                    self.stubs[member].GetUser(self.pb.GetUserRequest(id=user.id),
                                               timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        other = [("authorization", "Bearer " + token(SECRET, users[0].id, ["user"]))]
        for member in range(P):
            with self.assertRaises(grpc.RpcError) as e:
                self.stubs[member].GetUser(self.pb.GetUserRequest(id=users[1].id),
                                           timeout=TIMEOUT, metadata=other)
            self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)


class ClusterPartitionDown(UserClusterCase):
    """Each member on its own --data-dir: one killed, its keys UNAVAILABLE fast, then back."""

    @classmethod
    def member_flags(cls, i):
        return ["--data-dir", os.path.join(cls.dir.name, "p%d" % i), "--fsync", "always"]

    def test_killed_partition_fails_fast_others_go_on_restart_brings_data_back(self):
        users = [self.create(i % P, self.email("down")) for i in range(30)]
        by_owner = {}
        for user in users:
            by_owner.setdefault(self.user_partition(user.id), []).append(user)
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
                # Fast: well before the call's own deadline, which a wait for the dead member
                # would run out (not a speed claim: a loaded sanitizer build is slow).
                self.assertLess(elapsed, TIMEOUT / 2, "UNAVAILABLE took %.2fs" % elapsed)
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
            done = subprocess.run([UserClusterCase.server, "--listen", "127.0.0.1:0", *flags],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 2, flags)
            self.assertIn(message, done.stderr, flags)


if __name__ == "__main__":
    main()
