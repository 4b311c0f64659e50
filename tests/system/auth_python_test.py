"""JWT authentication and the access policy of percore-server (issue 13), with tokens minted by an
independent implementation (Debian's python3-jwt) and calls from Python grpcio: HS256 with
--jwt-secret-file, RS256 and ES256 with --jwt-public-key, a JWKS file with two keys chosen by
kid. Each bad token (expired, not yet valid, wrong issuer or audience, wrong signature, alg none,
HS256 signed with the RSA public key as the secret, unknown kid, malformed base64, 16 KiB (the metadata limit), no
sub, no exp, not a bearer token) gets UNAUTHENTICATED and the server keeps serving; roles and
ownership give PERMISSION_DENIED naming the method; health stays open.
Usage: auth_python_test.py PATH/TO/percore-server"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import grpc
import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from percore_py.server import Server
from percore_py.stubs import stub_module, stub_modules

SERVER = None
TIMEOUT = 10
ISSUER = "https://issuer.percore.test"
AUDIENCE = "percore"
SECRET = "percore-test-secret-0123456789abcdef"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(sub, roles=(), lifetime=300, **extra):
    now = int(time.time())
    body = {"sub": sub, "roles": list(roles), "iss": ISSUER, "aud": AUDIENCE, "iat": now,
            "exp": now + lifetime}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class AuthBase(unittest.TestCase):
    flags = ()

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="percore-auth-")
        cls.make_keys()
        cls.server = Server(SERVER, "--shards", "2", "--shutdown-grace", "2",
                            "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE, *cls.flags)
        cls.user_pb, user_grpc = stub_modules("user.v1.user")
        cls.users = user_grpc.UserServiceStub(cls.server.channel)
        cls.health_pb, health_grpc = stub_modules("grpc.health.v1.health")
        cls.health = health_grpc.HealthStub(cls.server.channel)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir.name, name)

    @classmethod
    def make_keys(cls):
        pass

    def call(self, fn, request, token):
        md = [] if token is None else [("authorization", "Bearer " + token)]
        return fn(request, timeout=TIMEOUT, metadata=md)

    def assert_refused(self, code, fn, request, token, message=None, raw_authorization=None):
        md = [("authorization", raw_authorization)] if raw_authorization is not None else (
            [] if token is None else [("authorization", "Bearer " + token)])
        with self.assertRaises(grpc.RpcError) as e:
            result = fn(request, timeout=TIMEOUT, metadata=md)
            if hasattr(result, "__iter__") and not hasattr(result, "ByteSize"):
                list(result)  # a server stream fails when read
        self.assertEqual(e.exception.code(), code, e.exception.details())
        if message is not None:
            self.assertEqual(e.exception.details(), message)
        return e.exception

    def create_user(self, admin_token):
        tag = uuid.uuid4().hex[:10]
        return self.call(self.users.CreateUser,
                         self.user_pb.CreateUserRequest(name="U " + tag, email=tag + "@x.test"),
                         admin_token)


class Hs256(AuthBase):
    @classmethod
    def make_keys(cls):
        with open(cls.path("secret"), "w") as f:
            f.write(SECRET + "\n")
        cls.flags = ("--jwt-secret-file", cls.path("secret"))

    def token(self, body, key=SECRET, algorithm="HS256", headers=None):
        return jwt.encode(body, key, algorithm=algorithm, headers=headers)

    def test_health_is_open_and_users_need_a_token(self):
        reply = self.health.Check(self.health_pb.HealthCheckRequest(service=""), timeout=TIMEOUT)
        self.assertEqual(reply.status, self.health_pb.HealthCheckResponse.SERVING)
        self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.GetUser,
                            self.user_pb.GetUserRequest(id="x"), None,
                            "Missing authentication token")

    def test_admin_may_do_everything_a_user_only_their_own(self):
        admin = self.token(claims("root", ["admin"]))
        alice = self.create_user(admin)
        bob = self.create_user(admin)
        alice_token = self.token(claims(alice.id, ["user"]))
        got = self.call(self.users.GetUser, self.user_pb.GetUserRequest(id=alice.id), alice_token)
        self.assertEqual(got.id, alice.id)
        # A lower-case scheme is the same scheme (RFC 7235).
        got = self.users.GetUser(self.user_pb.GetUserRequest(id=alice.id), timeout=TIMEOUT,
                                 metadata=[("authorization", "bearer " + alice_token)])
        self.assertEqual(got.id, alice.id)
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, self.users.GetUser,
                            self.user_pb.GetUserRequest(id=bob.id), alice_token,
                            "permission denied for user.v1.UserService/GetUser")
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, self.users.DeleteUser,
                            self.user_pb.DeleteUserRequest(id=bob.id), alice_token,
                            "permission denied for user.v1.UserService/DeleteUser")
        with self.assertRaises(grpc.RpcError) as e:
            list(self.users.ListUsers(self.user_pb.ListUsersRequest(page_size=10),
                                      timeout=TIMEOUT,
                                      metadata=[("authorization", "Bearer " + alice_token)]))
        self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        users = list(self.users.ListUsers(self.user_pb.ListUsersRequest(page_size=10),
                                          timeout=TIMEOUT,
                                          metadata=[("authorization", "Bearer " + admin)]))
        self.assertTrue(users)
        # Roles are not the user's to give themselves.
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, self.users.UpdateUser,
                            self.user_pb.UpdateUserRequest(id=alice.id, roles=["admin"]),
                            alice_token)
        renamed = self.call(self.users.UpdateUser,
                            self.user_pb.UpdateUserRequest(id=alice.id, name="Alice"), alice_token)
        self.assertEqual(renamed.name, "Alice")

    def test_bad_tokens_are_unauthenticated_and_the_server_keeps_serving(self):
        now = int(time.time())
        rsa_pem = self.path("rsa.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                rsa_pem)
        rsa_pub = subprocess.run(["openssl", "pkey", "-in", rsa_pem, "-pubout"], check=True,
                                 capture_output=True).stdout
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims("root", ["admin"])).encode())
        confused_sig = b64url(hmac.new(rsa_pub, (header + "." + body).encode(),
                                       hashlib.sha256).digest())
        none_header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        cases = {
            "expired": (self.token(claims("root", ["admin"], lifetime=-60)),
                        "Invalid authentication token: expired"),
            "not yet valid": (self.token(claims("root", ["admin"], nbf=now + 600)),
                              "Invalid authentication token: not yet valid"),
            "wrong issuer": (self.token(claims("root", ["admin"], iss="https://evil.test")),
                             "Invalid authentication token: wrong issuer"),
            "wrong audience": (self.token(claims("root", ["admin"], aud="other")),
                               "Invalid authentication token: wrong audience"),
            "wrong signature": (self.token(claims("root", ["admin"]), key=SECRET + "-other"),
                                "Invalid authentication token: bad signature"),
            "alg none": (none_header + "." + body + ".",
                         "Invalid authentication token: unsigned"),
            "alg none signed": (none_header + "." + body + ".c2ln",
                                "Invalid authentication token: algorithm none not accepted"),
            "rsa public key as hmac secret": (header + "." + body + "." + confused_sig,
                                              "Invalid authentication token: bad signature"),
            "malformed base64": ("e!!." + body + ".c2ln",
                                 "Invalid authentication token: malformed header"),
            "5 KiB of claims": (self.token(claims("root", ["admin"], pad="x" * 4000),
                                           key=SECRET + "-other"),
                                "Invalid authentication token: bad signature"),
            "no sub": (self.token(claims(None, ["admin"])),
                       "Invalid authentication token: no sub"),
            "no exp": (self.token(claims("root", ["admin"], exp=None)),
                       "Invalid authentication token: no exp"),
        }
        for name, (token, message) in cases.items():
            with self.subTest(name):
                self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.ListUsers,
                                    self.user_pb.ListUsersRequest(page_size=1), token, message)
        self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.GetUser,
                            self.user_pb.GetUserRequest(id="x"), None,
                            "Invalid authentication token: not a bearer token",
                            raw_authorization="Basic cm9vdDpwdw==")
        # 16 KiB: past the 8 KiB metadata limit, refused before any handler or token check.
        # (Its own connection: gRPC may close the one that carried it.)
        with grpc.insecure_channel(self.server.address,
                                   options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            stub = stub_module("user.v1.user_pb2_grpc").UserServiceStub(channel)
            big = self.token(claims("root", ["admin"], pad="x" * 16384))
            self.assert_refused(grpc.StatusCode.RESOURCE_EXHAUSTED, stub.GetUser,
                                self.user_pb.GetUserRequest(id="x"), big)
        # Still serving a good token after all of them.
        admin = self.token(claims("root", ["admin"]))
        self.assertTrue(self.create_user(admin).id)

    def test_leeway_and_reuse(self):
        admin = self.token(claims("root", ["admin"]))
        for _ in range(20):  # a reused token: verified once per shard, then from the cache
            self.create_user(admin)

    def test_a_cached_token_keeps_every_rule(self):
        # The shard's cache hashes a token's last bytes (its signature) and skips the scheme's
        # parsing on a hit: the whole token must still be compared, a duplicated header and
        # the expiry still refused, and a padded header still accepted.
        # Ten seconds of life: every call before the sleep must land before exp, even on a slow
        # sanitizer build on a busy machine (three seconds did not, once in CI).
        short_claims = claims("root", ["admin"], lifetime=10)
        short = self.token(short_claims)
        for _ in range(3):
            created = self.create_user(short)  # verified once, then from the cache
        header, _, signature = short.split(".")
        forged_body = b64url(json.dumps(claims("mallory", ["admin"])).encode())
        self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.CreateUser,
                            self.user_pb.CreateUserRequest(name="M", email="m@x.test"),
                            ".".join([header, forged_body, signature]),
                            "Invalid authentication token: bad signature")
        with self.assertRaises(grpc.RpcError) as e:
            self.users.CreateUser(self.user_pb.CreateUserRequest(name="D", email="d@x.test"),
                                  timeout=TIMEOUT, metadata=[("authorization", "Bearer " + short),
                                                             ("authorization", "Bearer " + short)])
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(e.exception.details(),
                         "Invalid authentication token: more than one authorization header")
        for _ in range(2):  # extra spaces (inside: nghttp2 refuses a trailing one): not cached
            self.call(self.users.GetUser, self.user_pb.GetUserRequest(id=created.id),
                      "  " + short)
        # Past exp (no leeway): the cached entry must not serve it.
        time.sleep(max(0.0, short_claims["exp"] + 1.5 - time.time()))
        self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.CreateUser,
                            self.user_pb.CreateUserRequest(name="E", email="e@x.test"), short,
                            "Invalid authentication token: expired")


class Rs256AndEs256(AuthBase):
    """--jwt-jwks with an RSA and an EC key, chosen by kid."""

    @classmethod
    def make_keys(cls):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                cls.path("rsa.pem"))
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                cls.path("ec.pem"))
        with open(cls.path("rsa.pem")) as f:
            cls.rsa = f.read()
        with open(cls.path("ec.pem")) as f:
            cls.ec = f.read()
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(
            cls.rsa).public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(ECAlgorithm(ECAlgorithm.SHA256).prepare_key(
            cls.ec).public_key()))
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
        ec_jwk.update(kid="ec-1", use="sig")
        with open(cls.path("jwks.json"), "w") as f:
            json.dump({"keys": [rsa_jwk, ec_jwk]}, f)
        cls.flags = ("--jwt-jwks", cls.path("jwks.json"))

    def test_each_key_by_kid(self):
        rs = jwt.encode(claims("root", ["admin"]), self.rsa, algorithm="RS256",
                        headers={"kid": "rsa-1"})
        es = jwt.encode(claims("root", ["admin"]), self.ec, algorithm="ES256",
                        headers={"kid": "ec-1"})
        self.assertTrue(self.create_user(rs).id)
        self.assertTrue(self.create_user(es).id)
        unknown = jwt.encode(claims("root", ["admin"]), self.rsa, algorithm="RS256",
                             headers={"kid": "rsa-2"})
        self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.ListUsers,
                            self.user_pb.ListUsersRequest(page_size=1), unknown,
                            "Invalid authentication token: unknown kid")
        swapped = jwt.encode(claims("root", ["admin"]), self.rsa, algorithm="RS256",
                             headers={"kid": "ec-1"})
        self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, self.users.ListUsers,
                            self.user_pb.ListUsersRequest(page_size=1), swapped,
                            "Invalid authentication token: algorithm RS256 not accepted")


class OrdersBelongToTheirUser(AuthBase):
    """Ownership the order service checks: another user's order is PERMISSION_DENIED."""

    @classmethod
    def make_keys(cls):
        with open(cls.path("secret"), "w") as f:
            f.write(SECRET)
        cls.flags = ("--jwt-secret-file", cls.path("secret"))

    def test_orders(self):
        inv_pb = stub_module("inventory.v1.inventory_pb2")
        inventory = stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            self.server.channel)
        order_pb = stub_module("order.v1.order_pb2")
        orders = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(self.server.channel)
        pay_pb = stub_module("payment.v1.payment_pb2")
        money_pb = stub_module("commerce.v1.money_pb2")
        admin = jwt.encode(claims("root", ["admin"]), SECRET, algorithm="HS256")
        alice, bob = self.create_user(admin), self.create_user(admin)
        alice_token = jwt.encode(claims(alice.id, ["user"]), SECRET, algorithm="HS256")
        bob_token = jwt.encode(claims(bob.id, ["user"]), SECRET, algorithm="HS256")
        sku = "sku-" + uuid.uuid4().hex[:12]
        product = inv_pb.CreateProductRequest(
            sku=sku, name="Widget", price=money_pb.Money(amount_minor=100, currency="USD"),
            initial_stock=5)
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, inventory.CreateProduct, product,
                            alice_token,
                            "permission denied for inventory.v1.InventoryService/CreateProduct")
        self.call(inventory.CreateProduct, product, admin)
        request = order_pb.CreateOrderRequest(
            user_id=alice.id, items=[order_pb.LineItem(sku=sku, quantity=1)],
            payment_method=pay_pb.PaymentMethod(token="tok_approve"))
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, orders.CreateOrder, request,
                            bob_token)
        order = orders.CreateOrder(request, timeout=60,
                                   metadata=[("authorization", "Bearer " + alice_token)])
        got = self.call(orders.GetOrder, order_pb.GetOrderRequest(id=order.id), alice_token)
        self.assertEqual(got.id, order.id)
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, orders.GetOrder,
                            order_pb.GetOrderRequest(id=order.id), bob_token,
                            "permission denied for order.v1.OrderService/GetOrder")
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, orders.CancelOrder,
                            order_pb.CancelOrderRequest(id=order.id), bob_token)
        self.assertEqual(
            self.call(orders.GetOrder, order_pb.GetOrderRequest(id=order.id), admin).id, order.id)
        # The payment service is for services, not for users.
        payments = stub_module("payment.v1.payment_pb2_grpc").PaymentServiceStub(
            self.server.channel)
        self.assert_refused(grpc.StatusCode.PERMISSION_DENIED, payments.GetPayment,
                            pay_pb.GetPaymentRequest(transaction_id="x"), alice_token)


class PeersPresentAServiceToken(unittest.TestCase):
    """Two processes with auth on: order (front) calls user, inventory and payment (back) over
    gRPC presenting --peer-token-file's `service` token; the back checks it like any other."""

    def test_order_across_processes(self):
        with tempfile.TemporaryDirectory(prefix="percore-auth-peers-") as tmp:
            secret = os.path.join(tmp, "secret")
            with open(secret, "w") as f:
                f.write(SECRET)
            service_token = os.path.join(tmp, "service.token")
            with open(service_token, "w") as f:
                f.write(jwt.encode(claims("order-service", ["service"]), SECRET,
                                   algorithm="HS256") + "\n")
            auth = ("--jwt-secret-file", secret, "--jwt-issuer", ISSUER, "--jwt-audience",
                    AUDIENCE)
            back = Server(SERVER, "--shards", "1", "--shutdown-grace", "1", "--services",
                          "user,inventory,payment", *auth)
            self.addCleanup(back.stop)
            front = Server(SERVER, "--shards", "1", "--shutdown-grace", "1", "--services",
                           "order", "--peer", "user=" + back.address, "--peer",
                           "inventory=" + back.address, "--peer", "payment=" + back.address,
                           "--peer-token-file", service_token, *auth)
            self.addCleanup(front.stop)
            user_pb, user_grpc = stub_modules("user.v1.user")
            inv_pb = stub_module("inventory.v1.inventory_pb2")
            order_pb = stub_module("order.v1.order_pb2")
            pay_pb = stub_module("payment.v1.payment_pb2")
            money_pb = stub_module("commerce.v1.money_pb2")
            admin = [("authorization",
                      "Bearer " + jwt.encode(claims("root", ["admin"]), SECRET, algorithm="HS256"))]
            user = user_grpc.UserServiceStub(back.channel).CreateUser(
                user_pb.CreateUserRequest(name="Peer", email=uuid.uuid4().hex[:8] + "@x.test"),
                timeout=TIMEOUT, metadata=admin)
            sku = "sku-" + uuid.uuid4().hex[:12]
            stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
                back.channel).CreateProduct(inv_pb.CreateProductRequest(
                    sku=sku, name="W", price=money_pb.Money(amount_minor=100, currency="USD"),
                    initial_stock=3), timeout=TIMEOUT, metadata=admin)
            mine = [("authorization", "Bearer " + jwt.encode(claims(user.id, ["user"]), SECRET,
                                                             algorithm="HS256"))]
            order = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(
                front.channel).CreateOrder(order_pb.CreateOrderRequest(
                    user_id=user.id, items=[order_pb.LineItem(sku=sku, quantity=2)],
                    payment_method=pay_pb.PaymentMethod(token="tok_approve")),
                    timeout=60, metadata=mine)
            self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CONFIRMED",
                             order)
            # The user's own token cannot reach payment directly.
            with self.assertRaises(grpc.RpcError) as e:
                stub_module("payment.v1.payment_pb2_grpc").PaymentServiceStub(
                    back.channel).GetPayment(pay_pb.GetPaymentRequest(
                        transaction_id=order.transaction_id), timeout=TIMEOUT, metadata=mine)
            self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
