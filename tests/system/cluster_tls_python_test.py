"""A 2-partition percore cluster whose members call each other over mutual TLS (issue 13 item 2,
issue 14): every member serves TLS requiring client certificates (--tls-cert, --tls-key,
--tls-client-ca) and dials the others with --peer-tls-ca/--peer-tls-cert/--peer-tls-key, the
same credentials a --peer gets (services/remote/peer_channel.h). Certificates are made by the
test (tls_support.Pki, into a temporary directory). Forwarded calls answer through every member
(GetUser of the other partition's users, CreateUser whose email another partition claims,
ListUsers merged over both partitions, an email change claimed on the other partition); after a
SIGHUP the member links are made again with the reloaded files and still work. A process that
dials the members without the peer certificate (none, one from another CA, or plaintext) gets
UNAVAILABLE for every call it forwards, never a plaintext success; a member serving TLS without
--peer-tls-ca is refused at start.
Usage: cluster_tls_python_test.py PATH/TO/percore-server"""

import signal
import time
import uuid

import grpc

from percore_py.cluster import free_ports
from percore_py.server import Server, run_refused
from tls_support import Pki, allow_openssl_thread_state_at_exit, secure_channel
from user_cluster_support import UserClusterCase, main

TIMEOUT = 10
P = 2
MARK = ("percore-forwarded-from", "9")  # only the owner serves a marked call


class ClusterOverMutualTls(UserClusterCase):
    partitions = P
    shards = 1

    @classmethod
    def cluster_flags(cls):
        cls.pki = Pki(cls.dir.name)
        return [*cls.server_tls(), *cls.peer_tls("client")]

    @classmethod
    def channel(cls, address):
        return secure_channel(address, cls.pki, client="client")

    @classmethod
    def server_tls(cls):
        p = cls.pki.path
        return ["--tls-cert", p("server-a.pem"), "--tls-key", p("server-a.key"),
                "--tls-client-ca", p("ca.pem")]

    @classmethod
    def peer_tls(cls, client):
        p = cls.pki.path
        flags = ["--peer-tls-ca", p("ca.pem")]
        if client:
            flags += ["--peer-tls-cert", p(client + ".pem"), "--peer-tls-key", p(client + ".key")]
        return flags

    def email(self, tag):
        return "%s-%s@tls.test" % (tag, uuid.uuid4().hex[:10])

    def owner(self, user_id):
        for member in range(P):
            try:
                self.stubs[member].GetUser(self.pb.GetUserRequest(id=user_id), timeout=TIMEOUT,
                                           metadata=[MARK])
                return member
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
        self.fail("no member owns %s" % user_id)

    def users_on_both_partitions(self, tag):
        """Users created through member 0 until each partition holds some (CreateUser goes to
        the email's partition: about half of them were forwarded over TLS)."""
        users = {}
        for i in range(40):
            user = self.create(0, self.email(tag))
            users.setdefault(self.owner(user.id), []).append(user)
            if len(users) == P and min(len(u) for u in users.values()) >= 2:
                return users
        self.fail("40 users all on one partition: %s" % users.keys())

    def test_forwarded_calls_claims_and_merges_cross_tls(self):
        users = self.users_on_both_partitions("fwd")
        everyone = [u for owned in users.values() for u in owned]
        for member in range(P):
            for user in everyone:  # half of these are another partition's: forwarded
                self.assertEqual(self.stubs[member].GetUser(
                    self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT), user)
        # One email, claimed on its partition whichever member is asked: one winner.
        contested = self.email("same")
        self.create(1, contested)
        for member in range(P):
            with self.assertRaises(grpc.RpcError) as e:
                self.create(member, contested.upper())
            self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        # ListUsers: each member merges the other partition's users, fetched over TLS.
        ids = sorted(u.id for u in everyone)
        for member in range(P):
            listed = [u.id for u in self.stubs[member].ListUsers(
                self.pb.ListUsersRequest(page_size=1000), timeout=TIMEOUT)]
            self.assertEqual(sorted(listed), listed)
            self.assertTrue(set(ids) <= set(listed))
            self.assertEqual(len(listed), len(set(listed)))
        # An email change whose new key another partition decides: a marked claim call there.
        user = users[0][0]
        for _ in range(12):  # about half to the other partition's keys
            moved = self.email("moved")
            updated = self.stubs[0].UpdateUser(
                self.pb.UpdateUserRequest(id=user.id, email=moved), timeout=TIMEOUT)
            self.assertEqual(updated.email, moved)
            with self.assertRaises(grpc.RpcError) as e:
                self.create(1, moved)
            self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
            user = updated

    def test_sighup_remakes_the_member_links_with_the_reloaded_files(self):
        users = self.users_on_both_partitions("hup")
        member = self.cluster.members[0]
        member.proc.send_signal(signal.SIGHUP)
        give_up = time.monotonic() + TIMEOUT
        while "and the cluster's members" not in member.stderr_text():
            self.assertLess(time.monotonic(), give_up, member.stderr_text()[-2000:])
            time.sleep(0.05)
        for user in users[1]:  # partition 1's, through member 0's new links
            self.assertEqual(self.stubs[0].GetUser(self.pb.GetUserRequest(id=user.id),
                                                   timeout=TIMEOUT), user)

    def stranger(self, tls, *peer_flags):
        """A process claiming partition 1 of this cluster on a port of its own, dialling member 0
        with `peer_flags`; serving TLS with a good certificate when `tls`."""
        address = "127.0.0.1:%d" % free_ports(1)[0]
        server = Server(self.server, "--listen", address, "--shards", "1", "--shutdown-grace", "1",
                        "--services", "user", "--partitions", str(P), "--partition", "1",
                        "--members", "%s,%s" % (self.cluster.addresses[0], address),
                        *(self.server_tls() if tls else []), *peer_flags)
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, server.stderr_text()))
        channel = secure_channel(address, self.pki, client="client") if tls else (
            grpc.insecure_channel(address))
        self.addCleanup(channel.close)
        return self.pb_grpc.UserServiceStub(channel)

    def test_a_process_without_the_peer_certificate_cannot_forward(self):
        users = self.users_on_both_partitions("stranger")
        strangers = {
            "no client certificate": self.stranger(True, *self.peer_tls(None)),
            "a certificate of another CA": self.stranger(True, *self.peer_tls("client-other")),
            "plaintext": self.stranger(False),
        }
        for why, stub in strangers.items():
            for user in users[0]:  # partition 0's: the stranger must forward to member 0
                with self.assertRaises(grpc.RpcError, msg=why) as e:
                    stub.GetUser(self.pb.GetUserRequest(id=user.id), timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE,
                                 "%s: %s" % (why, e.exception.details()))
                self.assertIn("partition 0", e.exception.details(), why)
            with self.assertRaises(grpc.RpcError, msg=why) as e:
                list(stub.ListUsers(self.pb.ListUsersRequest(page_size=100), timeout=TIMEOUT))
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE, why)
        # The cluster itself is untouched.
        for user in users[0]:
            self.assertEqual(self.stubs[1].GetUser(self.pb.GetUserRequest(id=user.id),
                                                   timeout=TIMEOUT), user)

    def test_a_tls_member_without_peer_tls_is_refused_at_start(self):
        code, stderr = run_refused(self.server, "--listen", "127.0.0.1:0", "--services", "user",
                                   "--partitions", "2", "--partition", "1", "--members",
                                   "127.0.0.1:1,127.0.0.1:2", *self.server_tls())
        self.assertEqual(code, 2, stderr)
        self.assertIn("--tls-cert with --partitions needs --peer-tls-ca", stderr)


if __name__ == "__main__":
    allow_openssl_thread_state_at_exit()
    main()
