"""percore-server --transport native (percore's own HTTP/2 transport, issue 16) driven by Python's
grpcio: the real services' errors with their codes and messages, ListUsers and a large
interop stream read slowly (the server's write queue and the flow-control windows fill, so the
handler is held back by OnWritable), ChatSession (bidi), WatchOrderUpdates cancelled by the
client, health Check and Watch, a deadline the server enforces, an unknown method, an
oversized request, and SIGTERM with a call in flight: health Watch says NOT_SERVING, the call
finishes, the server exits 0 with no call object left alive. Then --max-connections.
Usage: native_transport_python_test.py PATH/TO/percore-server"""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

import grpc

from percore_py.server import Server, run_refused
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10


class NativeTransport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(SERVER, "--transport", "native", "--shards", "2",
                            "--shutdown-grace", "5", "--max-message-bytes", "65536")
        cls.user_pb, cls.user_grpc = stub_modules("user.v1.user")
        cls.order_pb, cls.order_grpc = stub_modules("order.v1.order")
        cls.health, cls.health_grpc = stub_modules("grpc.health.v1.health")
        cls.msgs, _ = stub_modules("grpc.testing.messages")
        _, cls.test_grpc = stub_modules("grpc.testing.test")
        cls.users = cls.user_grpc.UserServiceStub(cls.server.channel)
        cls.orders = cls.order_grpc.OrderServiceStub(cls.server.channel)
        cls.interop = cls.test_grpc.TestServiceStub(cls.server.channel)
        cls.health_stub = cls.health_grpc.HealthStub(cls.server.channel)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assert_code(self, code, fn, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as e:
            fn(*args, **kwargs)
        self.assertEqual(e.exception.code(), code, e.exception.details())
        return e.exception

    def create_user(self, name, email):
        return self.users.CreateUser(self.user_pb.CreateUserRequest(name=name, email=email),
                                     timeout=TIMEOUT)

    def test_first_line_and_errors_with_codes_and_messages(self):
        self.assertRegex(self.server.first_line,
                         r"^percore-server listening on 127\.0\.0\.1:\d+ with 2 shards; services:")
        created = self.create_user("Grace", "grace@example.com")
        self.assertEqual(self.users.GetUser(self.user_pb.GetUserRequest(id=created.id),
                                            timeout=TIMEOUT), created)
        e = self.assert_code(grpc.StatusCode.NOT_FOUND, self.users.GetUser,
                             self.user_pb.GetUserRequest(id="0190c5d6-0000-7000-8000-000000000000"),
                             timeout=TIMEOUT)
        self.assertIn("not found", e.details())
        e = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.users.CreateUser,
                             self.user_pb.CreateUserRequest(name="", email="x@example.com"),
                             timeout=TIMEOUT)
        self.assertIn("name", e.details())
        e = self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.create_user, "Other",
                             "grace@example.com")
        self.assertIn("grace@example.com", e.details())

    def test_list_users_read_slowly(self):
        made = [self.create_user("Slow %d" % i, "slow%d@example.com" % i).id for i in range(40)]
        call = self.users.ListUsers(self.user_pb.ListUsersRequest(page_size=1000), timeout=TIMEOUT)
        seen = []
        for user in call:
            seen.append(user.id)
            if len(seen) < 5:
                time.sleep(0.05)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(seen, sorted(seen))
        self.assertTrue(set(made) <= set(seen))

    def test_large_stream_read_slowly_arrives_whole(self):
        # 12 MiB: more than the stream window (1 MiB) and the write queue (256 KiB) together,
        # so the handler waits for OnWritable several times while the client sleeps.
        m = self.msgs
        size = 1 << 20
        request = m.StreamingOutputCallRequest(
            response_parameters=[m.ResponseParameters(size=size) for _ in range(12)])
        call = self.interop.StreamingOutputCall(request, timeout=30)
        sizes = []
        for response in call:
            sizes.append(len(response.payload.body))
            time.sleep(0.1)
        self.assertEqual(sizes, [size] * 12)
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_chat_session_bidi(self):
        o = self.order_pb
        texts = ["help", "hello there", "help"] * 5
        messages = [o.ChatMessage(message_id=i + 1, text=t) for i, t in enumerate(texts)]
        replies = list(self.orders.ChatSession(iter(messages), timeout=TIMEOUT))
        self.assertEqual([r.in_reply_to for r in replies], list(range(1, len(texts) + 1)))

        # Interleaved: each reply comes before the next message is sent.
        outbox = queue.Queue()

        def requests():
            while True:
                item = outbox.get()
                if item is None:
                    return
                yield item

        call = self.orders.ChatSession(requests(), timeout=TIMEOUT)
        for i in range(3):
            outbox.put(o.ChatMessage(message_id=100 + i, text="help"))
            self.assertEqual(next(call).in_reply_to, 100 + i)
        outbox.put(None)
        self.assertEqual(list(call), [])
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_watch_order_updates_cancelled_by_client(self):
        user = self.create_user("Watcher", "watcher@example.com")
        call = self.orders.WatchOrderUpdates(self.order_pb.WatchOrderUpdatesRequest(
            user_id=user.id), timeout=TIMEOUT)
        call.initial_metadata()  # the watch is registered on the server
        call.cancel()
        self.assert_code(grpc.StatusCode.CANCELLED, lambda: list(call))
        # The server goes on serving on the same connection.
        self.assertEqual(self.health_stub.Check(self.health.HealthCheckRequest(service=""),
                                                timeout=TIMEOUT).status,
                         self.health.HealthCheckResponse.SERVING)

    def test_health_check_and_watch(self):
        h = self.health
        for name in ("", "user.v1.UserService", "order.v1.OrderService"):
            self.assertEqual(self.health_stub.Check(h.HealthCheckRequest(service=name),
                                                    timeout=TIMEOUT).status,
                             h.HealthCheckResponse.SERVING, name)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.health_stub.Check,
                         h.HealthCheckRequest(service="no.such.Service"), timeout=TIMEOUT)
        watch = self.health_stub.Watch(h.HealthCheckRequest(service=""), timeout=TIMEOUT)
        self.assertEqual(next(watch).status, h.HealthCheckResponse.SERVING)
        watch.cancel()

    def test_deadline_exceeded_by_the_server(self):
        user = self.create_user("Deadline", "deadline@example.com")
        # A watch never ends by itself: the server's deadline timer ends it.
        started = time.monotonic()
        self.assert_code(grpc.StatusCode.DEADLINE_EXCEEDED,
                         lambda: list(self.users.WatchUserUpdates(
                             self.user_pb.WatchUserRequest(user_id=user.id), timeout=0.3)))
        self.assertLess(time.monotonic() - started, TIMEOUT)

    def test_unknown_method_is_unimplemented(self):
        call = self.server.channel.unary_unary("/user.v1.UserService/NoSuchMethod")
        e = self.assert_code(grpc.StatusCode.UNIMPLEMENTED, call, b"", timeout=TIMEOUT)
        self.assertIn("NoSuchMethod", e.details())
        call = self.server.channel.unary_unary("/no.such.Service/Method")
        self.assert_code(grpc.StatusCode.UNIMPLEMENTED, call, b"", timeout=TIMEOUT)

    def test_oversized_request_is_resource_exhausted(self):
        e = self.assert_code(grpc.StatusCode.RESOURCE_EXHAUSTED, self.users.CreateUser,
                             self.user_pb.CreateUserRequest(name="n" * 100000,
                                                            email="big@example.com"),
                             timeout=TIMEOUT)
        self.assertIn("65536", e.details())
        # Just under the limit is served (and refused by validation, not by size).
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.users.CreateUser,
                         self.user_pb.CreateUserRequest(name="n" * 60000, email="big@example.com"),
                         timeout=TIMEOUT)

    def test_zz_sigterm_drains_a_call_in_flight(self):  # runs last (alphabetical)
        m = self.msgs
        # Six messages 200 ms apart: about 1.2 s in flight, well inside the 5 s grace.
        request = m.StreamingOutputCallRequest(response_parameters=[
            m.ResponseParameters(size=10, interval_us=200000) for _ in range(6)])
        call = self.interop.StreamingOutputCall(request, timeout=TIMEOUT)
        watch = self.health_stub.Watch(self.health.HealthCheckRequest(service=""), timeout=TIMEOUT)
        self.assertEqual(next(watch).status, self.health.HealthCheckResponse.SERVING)
        first = next(call)
        self.server.proc.send_signal(signal.SIGTERM)
        rest = list(call)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(len([first] + rest), 6)
        # The health watch is told NOT_SERVING, then ended UNAVAILABLE (health_handler.h).
        statuses = []
        with self.assertRaises(grpc.RpcError) as e:
            for update in watch:
                statuses.append(update.status)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(statuses, [self.health.HealthCheckResponse.NOT_SERVING])
        self.assertEqual(self.server.stop(), 0)
        err = self.server.stderr_text()
        self.assertIn("native transport stopped, 0 call objects alive", err)


class TransportFlag(unittest.TestCase):
    def test_bad_value_exits_2_and_help_documents_it(self):
        code, stderr = run_refused(SERVER, "--transport", "quic")
        self.assertEqual(code, 2)
        self.assertIn('--transport wants grpc or native, got "quic"', stderr)
        usage = subprocess.run([SERVER, "--help"], capture_output=True, text=True,
                               timeout=TIMEOUT).stdout
        self.assertIn("--transport grpc|native", usage)

    def test_idle_poll_serves_and_bad_value_is_refused(self):
        code, stderr = run_refused(SERVER, "--idle-poll-us", "-1")
        self.assertEqual(code, 2)
        self.assertIn('--idle-poll-us wants microseconds from 0 to 10000, got "-1"', stderr)
        # A shard that polls before sleeping serves, also a call that comes after an idle second.
        server = Server(SERVER, "--transport", "native", "--shards", "1", "--idle-poll-us", "200",
                        "--shutdown-grace", "1")
        try:
            health, health_grpc = stub_modules("grpc.health.v1.health")
            with grpc.insecure_channel(server.address) as channel:
                stub = health_grpc.HealthStub(channel)
                for _ in range(2):
                    answer = stub.Check(health.HealthCheckRequest(), timeout=TIMEOUT)
                    self.assertEqual(answer.status, health.HealthCheckResponse.SERVING)
                    time.sleep(1)
        finally:
            self.assertEqual(server.stop(), 0)


class NativeConnectionCap(unittest.TestCase):
    """--max-connections on the native transport: a connection past the cap is closed at
    accept (the client sees UNAVAILABLE), and one is served again once a slot frees."""

    def test_connection_past_the_cap_is_closed(self):
        server = Server(SERVER, "--transport", "native", "--shards", "1", "--max-connections", "2",
                        "--shutdown-grace", "1")
        try:
            health, health_grpc = stub_modules("grpc.health.v1.health")
            holders = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
            time.sleep(0.3)  # both accepted and counted
            with grpc.insecure_channel(server.address) as channel:
                with self.assertRaises(grpc.RpcError) as e:  # refused at once: no wait
                    health_grpc.HealthStub(channel).Check(health.HealthCheckRequest(),
                                                          timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
            holders.pop().close()
            # Served again once the server has seen the close (asked until then, each time on a
            # new channel: a refused one waits out its reconnect backoff).
            deadline = time.monotonic() + TIMEOUT
            while True:
                with grpc.insecure_channel(server.address) as channel:
                    try:
                        status = health_grpc.HealthStub(channel).Check(
                            health.HealthCheckRequest(), timeout=TIMEOUT).status
                        break
                    except grpc.RpcError as e:
                        if (e.code() != grpc.StatusCode.UNAVAILABLE
                                or time.monotonic() > deadline):
                            raise
                time.sleep(0.1)
            self.assertEqual(status, health.HealthCheckResponse.SERVING)
            for holder in holders:
                holder.close()
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
