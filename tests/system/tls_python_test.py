"""TLS and mutual TLS on percore-server's libgrpc transport (issue 13), with certificates the test
makes itself (python3-cryptography, into a temporary directory; no key is committed) and real
grpcio clients: TLS serves; a plaintext client, a client trusting another CA, an expired server
certificate are refused; with --tls-client-ca a client without a certificate, with one from
another CA or with an expired one is refused and one with a good certificate is served;
--health-listen answers grpc.health.v1 in plaintext and UNIMPLEMENTED for everything else; a
SIGHUP reload serves the new certificate to new connections while an open stream goes on, and a
mismatched pair is refused on reload; an order across two processes with the peers called over
mutual TLS (--peer-tls-*); percore-call and percore-load with --cacert/--cert/--key; flag errors
(the native transport names the flags it does not take).
Usage: tls_python_test.py PATH/TO/percore-server PATH/TO/percore-call PATH/TO/percore-load"""

import queue
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import json

import grpc

from percore_py.server import Server, native
from percore_py.stubs import stub_module, stub_modules
from tls_support import Pki, presented_common_name, secure_channel

SERVER = None
CALL = None
LOAD = None
TIMEOUT = 10


class TlsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="percore-tls-")
        cls.pki = Pki(cls.tmp.name)
        cls.user_pb, cls.user_grpc = stub_modules("user.v1.user")
        cls.health_pb, cls.health_grpc = stub_modules("grpc.health.v1.health")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def start(self, *flags, cert="server-a"):
        server = Server(SERVER, "--shards", "2", "--shutdown-grace", "1",
                        "--tls-cert", self.pki.path(cert + ".pem"),
                        "--tls-key", self.pki.path(cert + ".key"), *flags)
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, server.stderr_text()))
        return server

    def create_user(self, channel):
        tag = uuid.uuid4().hex[:10]
        return self.user_grpc.UserServiceStub(channel).CreateUser(
            self.user_pb.CreateUserRequest(name="T " + tag, email=tag + "@tls.test"),
            timeout=TIMEOUT)

    def wait_for(self, server, text):
        deadline = time.monotonic() + TIMEOUT
        while text not in server.stderr_text():
            self.assertLess(time.monotonic(), deadline, server.stderr_text())
            time.sleep(0.05)

    def assert_unavailable(self, channel):
        with self.assertRaises(grpc.RpcError) as e:
            self.user_grpc.UserServiceStub(channel).GetUser(self.user_pb.GetUserRequest(id="x"),
                                                            timeout=TIMEOUT)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE, e.exception.details())
        channel.close()


class ServerTls(TlsCase):
    def test_tls_serves_and_refuses_plaintext_and_strangers(self):
        server = self.start()
        self.assertIn("TLS on (CN = percore-a", server.stderr_text())
        with secure_channel(server.address, self.pki) as channel:
            user = self.create_user(channel)
            got = self.user_grpc.UserServiceStub(channel).GetUser(
                self.user_pb.GetUserRequest(id=user.id), timeout=TIMEOUT)
            self.assertEqual(got.email, user.email)
            reply = self.health_grpc.HealthStub(channel).Check(
                self.health_pb.HealthCheckRequest(service=""), timeout=TIMEOUT)
            self.assertEqual(reply.status, self.health_pb.HealthCheckResponse.SERVING)
        self.assertEqual(presented_common_name(server.port, self.pki), "percore-a")
        # A plaintext client on the TLS port, and a client that trusts another CA.
        self.assert_unavailable(grpc.insecure_channel(server.address))
        self.assert_unavailable(secure_channel(server.address, self.pki, ca="other-ca.pem"))
        # The server keeps serving after the refused handshakes.
        with secure_channel(server.address, self.pki) as channel:
            self.create_user(channel)

    def test_a_client_without_alpn_h2_is_refused(self):
        server = self.start()
        context = ssl.create_default_context(cafile=self.pki.path("ca.pem"))
        context.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.sendall(b"GET / HTTP/1.1\r\n\r\n")
                    if not tls.recv(1):
                        raise ConnectionError("closed")
        with secure_channel(server.address, self.pki) as channel:  # still serving
            self.create_user(channel)

    def test_tls_1_1_is_refused(self):
        server = self.start()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.pki.path("ca.pem"))
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw:
            with self.assertRaises(ssl.SSLError):
                context.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_health_port_serves_health_only_in_plaintext(self):
        server = self.start("--health-listen", "127.0.0.1:0")
        port = server.logged_ports("health")[0]
        self.assertNotEqual(port, server.port)
        with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
            health = self.health_grpc.HealthStub(channel)
            for service in ("", "user.v1.UserService"):
                reply = health.Check(self.health_pb.HealthCheckRequest(service=service),
                                     timeout=TIMEOUT)
                self.assertEqual(reply.status, self.health_pb.HealthCheckResponse.SERVING)
            watch = health.Watch(self.health_pb.HealthCheckRequest(service=""), timeout=TIMEOUT)
            self.assertEqual(next(watch).status, self.health_pb.HealthCheckResponse.SERVING)
            watch.cancel()
            with self.assertRaises(grpc.RpcError) as e:
                self.user_grpc.UserServiceStub(channel).GetUser(
                    self.user_pb.GetUserRequest(id="x"), timeout=TIMEOUT)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
            # libgrpc's gate names the rule; native's health port dispatches health alone.
            self.assertIn("unknown method" if native() else "only grpc.health.v1.Health",
                          e.exception.details())
            refl_pb, refl_grpc = stub_modules("grpc.reflection.v1alpha.reflection")
            with self.assertRaises(grpc.RpcError) as e:
                list(refl_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                    iter([refl_pb.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT))
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        # The TLS port still serves everything.
        with secure_channel(server.address, self.pki) as channel:
            self.create_user(channel)

    def test_health_port_without_tls(self):
        # Plaintext on both ports: the health port is still told apart (the main port's
        # connections come through percore's acceptor, the health port's through gRPC's).
        server = Server(SERVER, "--shards", "2", "--shutdown-grace", "1", "--health-listen",
                        "127.0.0.1:0")
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, server.stderr_text()))
        self.create_user(server.channel)
        with grpc.insecure_channel("127.0.0.1:%d" % server.logged_ports("health")[0]) as channel:
            reply = self.health_grpc.HealthStub(channel).Check(
                self.health_pb.HealthCheckRequest(service=""), timeout=TIMEOUT)
            self.assertEqual(reply.status, self.health_pb.HealthCheckResponse.SERVING)
            with self.assertRaises(grpc.RpcError) as e:
                self.create_user(channel)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_expired_server_certificate_is_refused_by_clients(self):
        server = self.start(cert="server-expired")
        self.assert_unavailable(secure_channel(server.address, self.pki))

    def test_sighup_serves_a_new_certificate_to_new_connections_only(self):
        # The server's files are copies the test replaces, as a certificate rotation would.
        cert, key = self.pki.path("live.pem"), self.pki.path("live.key")
        for src, dst in (("server-a.pem", cert), ("server-a.key", key)):
            with open(dst, "wb") as f:
                f.write(self.pki.read(src))
        server = Server(SERVER, "--shards", "2", "--shutdown-grace", "1", "--tls-cert", cert,
                        "--tls-key", key, "--services", "interop")
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, server.stderr_text()))
        self.assertEqual(presented_common_name(server.port, self.pki), "percore-a")
        messages_pb, test_grpc = (stub_module("grpc.testing.messages_pb2"),
                                  stub_module("grpc.testing.test_pb2_grpc"))

        def ping(size):
            return messages_pb.StreamingOutputCallRequest(
                response_parameters=[messages_pb.ResponseParameters(size=size)])

        # An open bidi stream on a connection made with the old certificate.
        channel = secure_channel(server.address, self.pki)
        self.addCleanup(channel.close)
        requests = queue.Queue()
        requests.put(ping(1))
        replies = test_grpc.TestServiceStub(channel).FullDuplexCall(
            iter(requests.get, None), timeout=30)
        self.assertEqual(len(next(replies).payload.body), 1)

        # A key that is not the certificate's: refused, the old pair stays.
        with open(key, "wb") as f:
            f.write(self.pki.read("server-b.key"))
        server.proc.send_signal(signal.SIGHUP)
        self.wait_for(server, "TLS reload refused")
        self.assertIn("is not the key of --tls-cert", server.stderr_text())
        self.assertEqual(presented_common_name(server.port, self.pki), "percore-a")

        with open(cert, "wb") as f:
            f.write(self.pki.read("server-b.pem"))
        server.proc.send_signal(signal.SIGHUP)
        self.wait_for(server, "TLS certificate reloaded")
        self.assertEqual(presented_common_name(server.port, self.pki), "percore-b")
        with secure_channel(server.address, self.pki) as fresh:
            test_grpc.TestServiceStub(fresh).EmptyCall(stub_module("grpc.testing.empty_pb2").Empty(),
                                                       timeout=TIMEOUT)
        # The stream opened before the reload goes on, on its old connection.
        requests.put(ping(7))
        self.assertEqual(len(next(replies).payload.body), 7)
        requests.put(None)
        self.assertEqual(list(replies), [])


class MutualTls(TlsCase):
    def test_client_certificates_are_required_and_checked(self):
        server = self.start("--tls-client-ca", self.pki.path("ca.pem"))
        self.assertIn("client certificates required", server.stderr_text())
        self.assert_unavailable(secure_channel(server.address, self.pki))
        self.assert_unavailable(secure_channel(server.address, self.pki, client="client-other"))
        self.assert_unavailable(secure_channel(server.address, self.pki, client="client-expired"))
        with secure_channel(server.address, self.pki, client="client") as channel:
            self.create_user(channel)

    def test_a_client_certificate_name_is_the_service_role(self):
        import jwt
        secret = b"percore-test-secret-of-at-least-32-bytes"
        with open(self.pki.path("jwt-secret"), "wb") as f:
            f.write(secret)
        server = self.start("--services", "payment", "--tls-client-ca", self.pki.path("ca.pem"),
                            "--jwt-secret-file", self.pki.path("jwt-secret"),
                            "--tls-service-identity", "order-service")
        pay_pb, pay_grpc = stub_modules("payment.v1.payment")
        request = pay_pb.GetPaymentRequest(idempotency_key="no-such-key")

        def code(client, token=None):
            metadata = [("authorization", "Bearer " + token)] if token else None
            with secure_channel(server.address, self.pki, client=client) as channel:
                try:
                    pay_grpc.PaymentServiceStub(channel).GetPayment(request, timeout=TIMEOUT,
                                                                    metadata=metadata)
                    return grpc.StatusCode.OK
                except grpc.RpcError as e:
                    return e.code()

        # CN=order-service, no token: the service role, so GetPayment runs (and finds nothing).
        self.assertEqual(code("client"), grpc.StatusCode.NOT_FOUND)
        # A certificate of the same CA with a name not listed: no identity, no token.
        self.assertEqual(code("client-user"), grpc.StatusCode.UNAUTHENTICATED)
        # A token, when there is one, decides: a user's is refused the service method.
        user = jwt.encode({"sub": "u1", "roles": ["user"], "exp": int(time.time()) + 600}, secret,
                          algorithm="HS256")
        self.assertEqual(code("client", user), grpc.StatusCode.PERMISSION_DENIED)

    def test_order_across_processes_over_mutual_tls(self):
        mtls = ("--tls-client-ca", self.pki.path("ca.pem"))
        back = self.start("--services", "user,inventory,payment", *mtls)
        peer_tls = ("--peer-tls-ca", self.pki.path("ca.pem"), "--peer-tls-cert",
                    self.pki.path("client.pem"), "--peer-tls-key", self.pki.path("client.key"))
        front = self.start("--services", "order", "--peer", "user=" + back.address, "--peer",
                           "inventory=" + back.address, "--peer", "payment=" + back.address,
                           *peer_tls, *mtls, cert="server-b")
        inv_pb = stub_module("inventory.v1.inventory_pb2")
        order_pb = stub_module("order.v1.order_pb2")
        pay_pb = stub_module("payment.v1.payment_pb2")
        money_pb = stub_module("commerce.v1.money_pb2")
        with secure_channel(back.address, self.pki, client="client") as channel:
            user = self.create_user(channel)
            sku = "sku-" + uuid.uuid4().hex[:12]
            stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
                channel).CreateProduct(inv_pb.CreateProductRequest(
                    sku=sku, name="W", price=money_pb.Money(amount_minor=100, currency="USD"),
                    initial_stock=3), timeout=TIMEOUT)
        with secure_channel(front.address, self.pki, client="client") as channel:
            order = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(channel).CreateOrder(
                order_pb.CreateOrderRequest(
                    user_id=user.id, items=[order_pb.LineItem(sku=sku, quantity=2)],
                    payment_method=pay_pb.PaymentMethod(token="tok_approve")), timeout=60)
        self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CONFIRMED", order)

    def test_sighup_reloads_the_peer_certificate(self):
        # The order process presents a certificate from a CA the back end does not trust; the
        # rotation replaces its files with one the back end trusts, then SIGHUP.
        cert, key = self.pki.path("peer-live.pem"), self.pki.path("peer-live.key")

        def install(name):
            for src, dst in ((name + ".pem", cert), (name + ".key", key)):
                with open(dst, "wb") as f:
                    f.write(self.pki.read(src))

        install("client-other")
        back = self.start("--services", "user,inventory,payment", "--tls-client-ca",
                          self.pki.path("ca.pem"))
        front = self.start("--services", "order", "--peer", "user=" + back.address, "--peer",
                           "inventory=" + back.address, "--peer", "payment=" + back.address,
                           "--peer-tls-ca", self.pki.path("ca.pem"), "--peer-tls-cert", cert,
                           "--peer-tls-key", key, cert="server-b")
        inv_pb = stub_module("inventory.v1.inventory_pb2")
        order_pb = stub_module("order.v1.order_pb2")
        pay_pb = stub_module("payment.v1.payment_pb2")
        sku = "sku-" + uuid.uuid4().hex[:12]
        with secure_channel(back.address, self.pki, client="client") as channel:
            user = self.create_user(channel)
            stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
                channel).CreateProduct(inv_pb.CreateProductRequest(
                    sku=sku, name="W", initial_stock=3,
                    price=stub_module("commerce.v1.money_pb2").Money(amount_minor=100,
                                                                   currency="USD")),
                    timeout=TIMEOUT)

        def create_order(timeout=60):
            with secure_channel(front.address, self.pki) as channel:
                return stub_module("order.v1.order_pb2_grpc").OrderServiceStub(
                    channel).CreateOrder(order_pb.CreateOrderRequest(
                        user_id=user.id, items=[order_pb.LineItem(sku=sku, quantity=1)],
                        payment_method=pay_pb.PaymentMethod(token="tok_approve")),
                    timeout=timeout)

        with self.assertRaises(grpc.RpcError) as refused:
            create_order(TIMEOUT)
        self.assertIn(refused.exception.code(), (grpc.StatusCode.UNAVAILABLE,
                                                 grpc.StatusCode.DEADLINE_EXCEEDED),
                      refused.exception.details())

        # A key that is not the certificate's is refused; the process keeps what it has.
        with open(key, "wb") as f:
            f.write(self.pki.read("client.key"))
        front.proc.send_signal(signal.SIGHUP)
        self.wait_for(front, "peer TLS reload refused")

        install("client")
        front.proc.send_signal(signal.SIGHUP)
        self.wait_for(front, "peer TLS credentials reloaded")
        order = create_order()
        self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CONFIRMED", order)

    def test_peers_without_a_client_certificate_are_refused(self):
        back = self.start("--services", "user,inventory,payment", "--tls-client-ca",
                          self.pki.path("ca.pem"))
        front = Server(SERVER, "--shards", "1", "--shutdown-grace", "1", "--services", "order",
                       "--peer", "user=" + back.address, "--peer", "inventory=" + back.address,
                       "--peer", "payment=" + back.address, "--peer-tls-ca",
                       self.pki.path("ca.pem"))
        self.addCleanup(lambda: self.assertEqual(front.stop(), 0, front.stderr_text()))
        order_pb = stub_module("order.v1.order_pb2")
        pay_pb = stub_module("payment.v1.payment_pb2")
        with self.assertRaises(grpc.RpcError) as e:
            stub_module("order.v1.order_pb2_grpc").OrderServiceStub(front.channel).CreateOrder(
                order_pb.CreateOrderRequest(
                    user_id=str(uuid.uuid4()), items=[order_pb.LineItem(sku="s", quantity=1)],
                    payment_method=pay_pb.PaymentMethod(token="tok_approve")), timeout=TIMEOUT)
        self.assertIn(e.exception.code(), (grpc.StatusCode.UNAVAILABLE,
                                           grpc.StatusCode.DEADLINE_EXCEEDED),
                      e.exception.details())


class Tools(TlsCase):
    def test_percore_call_and_load_speak_mutual_tls(self):
        server = self.start("--tls-client-ca", self.pki.path("ca.pem"), "--services", "user")
        p = self.pki.path
        tls = ["--cacert", p("ca.pem"), "--cert", p("client.pem"), "--key", p("client.key")]
        run = subprocess.run([CALL, *tls, server.address, "call", "user.v1.UserService.CreateUser",
                              "-d", '{"name": "Tool", "email": "tool-%s@tls.test"}'
                              % uuid.uuid4().hex[:8]],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("@tls.test", json.loads(run.stdout)["email"])
        # Without the client certificate the handshake is refused, and the tool says so.
        run = subprocess.run([CALL, "--cacert", p("ca.pem"), "--connect-timeout", "3s",
                              server.address, "list"], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 1, run.stdout)
        self.assertIn("cannot connect to " + server.address, run.stderr)
        run = subprocess.run([LOAD, *tls, "--call", "grpc.health.v1.Health.Check", "-n", "20",
                              "-c", "2", "-O", "json", server.address],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        report = json.loads(run.stdout)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 20}, report)
        run = subprocess.run([CALL, "--cert", p("client.pem"), server.address, "list"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 2)
        self.assertIn("--cert and --key need --cacert", run.stderr)


class Flags(TlsCase):
    def refused(self, *flags):
        run = subprocess.run([SERVER, "--listen", "127.0.0.1:0", *flags], capture_output=True,
                             text=True, timeout=30)
        self.assertNotEqual(run.returncode, 0, run.stderr)
        return run.stderr

    def test_bad_flags_are_named(self):
        p = self.pki.path
        self.assertIn("--tls-cert and --tls-key go together",
                      self.refused("--tls-cert", p("server-a.pem")))
        self.assertIn("--tls-client-ca needs --tls-cert",
                      self.refused("--tls-client-ca", p("ca.pem")))
        self.assertIn("is not the key of --tls-cert",
                      self.refused("--tls-cert", p("server-a.pem"), "--tls-key",
                                   p("server-b.key")))
        self.assertIn("--tls-cert " + p("missing.pem") + ": cannot be read",
                      self.refused("--tls-cert", p("missing.pem"), "--tls-key",
                                   p("server-a.key")))
        self.assertIn("no PEM certificate",
                      self.refused("--tls-cert", p("server-a.key"), "--tls-key",
                                   p("server-a.key")))
        self.assertIn("--peer-tls-cert needs --peer-tls-ca",
                      self.refused("--peer-tls-cert", p("client.pem"), "--peer-tls-key",
                                   p("client.key")))
        self.assertIn("--health-listen wants HOST:PORT", self.refused("--health-listen", "nope"))
        self.assertIn("--tls-service-identity needs --tls-client-ca",
                      self.refused("--tls-cert", p("server-a.pem"), "--tls-key", p("server-a.key"),
                                   "--tls-service-identity", "order-service"))


if __name__ == "__main__":
    SERVER, CALL, LOAD = sys.argv[1:4]
    del sys.argv[1:4]
    unittest.main()
