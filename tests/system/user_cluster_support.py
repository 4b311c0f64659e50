"""The fixture the user-service cluster tests share (cluster_python_test.py,
cluster_faults_python_test.py, cluster_email_python_test.py, cluster_tls_python_test.py): a
3-partition percore cluster on loopback serving user.v1 (percore_py.cluster), one per test
class, a UserService stub per member, and the helpers every case of theirs uses. A class adds
flags for every member (`cluster_flags`, which may write files into `cls.dir`) or for member i
(`member_flags`), and may change the partitions, the shards per member and the test's channel to
a member (`channel`). Run a test module with `main()`: it takes the percore-server path from
argv."""

import os
import sys
import tempfile
import time
import unittest
import uuid

import grpc
import jwt

from percore_py.cluster import OWNER_ONLY, Cluster
from percore_py.stubs import stub_modules

TIMEOUT = 10
P = 3
MARK = ("percore-forwarded-from", "9")  # a call one member sends another: only the owner serves it


def token(secret, sub, roles):
    """An HS256 JWT for `sub` with `roles`, valid for five minutes."""
    now = int(time.time())
    return jwt.encode({"sub": sub, "roles": roles, "iat": now, "exp": now + 300}, secret,
                      algorithm="HS256")


def write_file(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def owner_of_user(test, stubs, user_pb, user_id, timeout=30):
    """The one member whose partition owns `user_id` (asked with OWNER_ONLY: the others answer
    UNAVAILABLE); `stubs(i)` is member i's UserService stub. Fails the test unless exactly one
    member serves it."""
    owners = []
    for member in range(test.cluster.partitions):
        try:
            stubs(member).GetUser(user_pb.GetUserRequest(id=user_id), timeout=timeout,
                                  metadata=OWNER_ONLY)
            owners.append(member)
        except grpc.RpcError as e:
            test.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
    test.assertEqual(len(owners), 1, "user %s served by %s" % (user_id, owners))
    return owners[0]


def start_data_dir_cluster(test, server, partitions, prefix, flags, stop):
    """Starts test.cluster, `partitions` members with member i keeping its state in a temporary
    DIR/p<i> (test.dir; removed at the test's end), `flags` on every member; `stop` (the test's
    own, run before the directory goes) is registered before the start, so a member that fails
    to start still stops the others."""
    test.dir = tempfile.TemporaryDirectory(prefix=prefix)
    test.addCleanup(test.dir.cleanup)
    test.cluster = Cluster(
        server, partitions, flags=flags,
        member_flags=lambda i: ["--data-dir", os.path.join(test.dir.name, "p%d" % i)])
    test.addCleanup(stop)
    test.cluster.start()


class UserClusterCase(unittest.TestCase):
    server = None  # the percore-server binary, set by main()
    partitions = P
    shards = 2  # per member

    @classmethod
    def channel(cls, address):
        """The test's channel to the member at `address`."""
        return grpc.insecure_channel(address)

    @classmethod
    def cluster_flags(cls):
        """Flags for every member, after `--services user`."""
        return []

    @classmethod
    def member_flags(cls, i):
        """Flags for member i only (its own --data-dir, say)."""
        return []

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="percore-cluster-")
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.cluster = Cluster(cls.server, cls.partitions, shards=cls.shards,
                              flags=["--services", "user", *cls.cluster_flags()],
                              member_flags=cls.member_flags)
        cls.cluster.start()
        cls.channels = [cls.channel(a) for a in cls.cluster.addresses]
        cls.stubs = [cls.pb_grpc.UserServiceStub(c) for c in cls.channels]

    @classmethod
    def tearDownClass(cls):
        for c in cls.channels:
            c.close()
        codes = cls.cluster.stop()
        cls.dir.cleanup()
        assert all(code in (0, None) for code in codes), codes

    def email(self, tag):
        return "%s-%s@example.com" % (tag, uuid.uuid4().hex[:10])

    def create(self, member, email, name="Someone", **kwargs):
        return self.stubs[member].CreateUser(
            self.pb.CreateUserRequest(name=name, email=email), timeout=TIMEOUT, **kwargs)

    def get(self, member, user_id, **kwargs):
        return self.stubs[member].GetUser(self.pb.GetUserRequest(id=user_id), timeout=TIMEOUT,
                                          **kwargs)

    def user_partition(self, user_id):
        """The member holding the user, None if no running member does: the one that serves a
        marked GetUser (the others refuse it as misrouted, UNAVAILABLE)."""
        for member in range(self.partitions):
            if self.cluster.members[member] is None:
                continue
            try:
                self.get(member, user_id, metadata=[MARK])
                return member
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
        return None


def main():
    UserClusterCase.server = sys.argv.pop(1)
    unittest.main(module="__main__", verbosity=2)
