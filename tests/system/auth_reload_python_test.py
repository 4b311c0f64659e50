"""The rest of issue 13's server flags, with tokens minted by Debian's python3-jwt and calls from
grpcio: a JWKS file reloaded on SIGHUP (a new kid accepted, a removed kid refused even for a
token the server had verified and cached, a broken file refused with the old keys kept), two
`authorization` headers refused as UNAUTHENTICATED, and --no-reflection (reflection
UNIMPLEMENTED, health still served).
Usage: auth_reload_python_test.py PATH/TO/percore-server"""

import json
import os
import signal
import sys
import tempfile
import time
import unittest

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10


def new_key(kid):
    """An EC P-256 private key (PEM) and its public JWK under `kid`."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig", alg="ES256")
    return pem, jwk


def token(pem, kid, roles=("admin",)):
    now = int(time.time())
    return jwt.encode({"sub": "root", "roles": list(roles), "iat": now, "exp": now + 300}, pem,
                      algorithm="ES256", headers={"kid": kid})


class AuthReload(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="percore-auth-reload-")
        self.addCleanup(self.tmp.cleanup)
        self.jwks = os.path.join(self.tmp.name, "jwks.json")
        self.user_pb, user_grpc = stub_modules("user.v1.user")
        self.health_pb, self.health_grpc = stub_modules("grpc.health.v1.health")
        self.first_pem, first = new_key("first")
        self.write_jwks([first])
        self.server = Server(SERVER, "--shards", "2", "--shutdown-grace", "1", "--jwt-jwks",
                             self.jwks, "--no-reflection")
        self.addCleanup(lambda: self.assertEqual(self.server.stop(), 0,
                                                 self.server.stderr_text()))
        self.users = user_grpc.UserServiceStub(self.server.channel)

    def write_jwks(self, keys):
        with open(self.jwks, "w") as f:
            json.dump({"keys": keys}, f)

    def list_users(self, *authorizations):
        # A server stream: its status comes when it is read.
        return list(self.users.ListUsers(self.user_pb.ListUsersRequest(page_size=1),
                                         timeout=TIMEOUT,
                                         metadata=[("authorization", "Bearer " + a)
                                                   for a in authorizations]))

    def assert_unauthenticated(self, *authorizations, message):
        with self.assertRaises(grpc.RpcError) as e:
            self.list_users(*authorizations)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(e.exception.details(), message)

    def sighup_and_wait(self, text):
        seen = self.server.stderr_text().count(text)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + TIMEOUT
        while self.server.stderr_text().count(text) == seen:
            self.assertLess(time.monotonic(), deadline, self.server.stderr_text())
            time.sleep(0.02)

    def test_jwks_reloaded_on_sighup(self):
        old = token(self.first_pem, "first")
        for _ in range(4):  # verified once per shard, then cached
            self.list_users(old)
        second_pem, second = new_key("second")
        new = token(second_pem, "second")
        self.assert_unauthenticated(new, message="Invalid authentication token: unknown kid")

        self.write_jwks([second])  # "first" rotated out
        self.sighup_and_wait("JWT keys reloaded (1 key)")
        self.list_users(new)
        for _ in range(4):  # on every shard, although each had the old token cached
            self.assert_unauthenticated(old, message="Invalid authentication token: unknown kid")

        with open(self.jwks, "w") as f:
            f.write("{not json")
        self.sighup_and_wait("JWT key reload refused, keeping the current keys")
        self.list_users(new)

    def test_two_authorization_headers_are_refused(self):
        good = token(self.first_pem, "first")
        self.list_users(good)
        for pair in ((good, good), (good, "garbage")):
            self.assert_unauthenticated(
                *pair, message="Invalid authentication token: more than one authorization header")
        self.list_users(good)  # still serving

    def test_no_reflection(self):
        self.assertNotIn("grpc.reflection", self.server.first_line)
        for version in ("v1alpha", "v1"):
            refl_pb, refl_grpc = stub_modules("grpc.reflection.%s.reflection" % version)
            with self.assertRaises(grpc.RpcError) as e:
                list(refl_grpc.ServerReflectionStub(self.server.channel).ServerReflectionInfo(
                    iter([refl_pb.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT))
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED, version)
        reply = self.health_grpc.HealthStub(self.server.channel).Check(
            self.health_pb.HealthCheckRequest(service=""), timeout=TIMEOUT)
        self.assertEqual(reply.status, self.health_pb.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
