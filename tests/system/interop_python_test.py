"""The real percore-server driven by Python's grpcio: health, reflection, the interop cases,
and a clean SIGTERM. Usage: interop_python_test.py PATH/TO/percore-server"""

import sys
import threading
import unittest

import grpc

from percore_py.server import Server
from percore_py.stubs import stub_module, stub_modules

SERVER = None


class InteropWithPythonClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(SERVER, "--shards", "2", "--shutdown-grace", "2")
        cls.health, cls.health_grpc = stub_modules("grpc.health.v1.health")
        cls.refl, cls.refl_grpc = stub_modules("grpc.reflection.v1alpha.reflection")
        cls.msg = stub_module("grpc.testing.messages_pb2")
        cls.empty = stub_module("grpc.testing.empty_pb2")
        cls.test_grpc = stub_module("grpc.testing.test_pb2_grpc")
        cls.stub = cls.test_grpc.TestServiceStub(cls.server.channel)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_health_serving_and_unknown(self):
        h = self.health_grpc.HealthStub(self.server.channel)
        for name in ("", "grpc.testing.TestService", "grpc.health.v1.Health"):
            r = h.Check(self.health.HealthCheckRequest(service=name), timeout=5)
            self.assertEqual(r.status, self.health.HealthCheckResponse.SERVING, name)
        with self.assertRaises(grpc.RpcError) as e:
            h.Check(self.health.HealthCheckRequest(service="no.such.Service"), timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_reflection_lists_and_describes_services(self):
        r = self.refl_grpc.ServerReflectionStub(self.server.channel)
        requests = [
            self.refl.ServerReflectionRequest(list_services=""),
            self.refl.ServerReflectionRequest(file_containing_symbol="grpc.testing.TestService"),
            self.refl.ServerReflectionRequest(file_containing_symbol="grpc.health.v1.Health"),
        ]
        responses = list(r.ServerReflectionInfo(iter(requests), timeout=5))
        names = {s.name for s in responses[0].list_services_response.service}
        self.assertIn("grpc.testing.TestService", names)
        self.assertIn("grpc.health.v1.Health", names)
        self.assertTrue(responses[1].file_descriptor_response.file_descriptor_proto)
        self.assertTrue(responses[2].file_descriptor_response.file_descriptor_proto)

    def test_empty_unary(self):
        self.assertEqual(self.stub.EmptyCall(self.empty.Empty(), timeout=5), self.empty.Empty())

    def test_large_unary(self):
        req = self.msg.SimpleRequest(response_size=314159,
                                     payload=self.msg.Payload(body=b"\0" * 271828))
        self.assertEqual(len(self.stub.UnaryCall(req, timeout=5).payload.body), 314159)

    def test_client_streaming(self):
        sizes = (27182, 8, 1828, 45904)
        reqs = (self.msg.StreamingInputCallRequest(payload=self.msg.Payload(body=b"\0" * s))
                for s in sizes)
        self.assertEqual(self.stub.StreamingInputCall(reqs, timeout=5).aggregated_payload_size,
                         74922)

    def test_server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        req = self.msg.StreamingOutputCallRequest(
            response_parameters=[self.msg.ResponseParameters(size=s) for s in sizes])
        got = [len(r.payload.body) for r in self.stub.StreamingOutputCall(req, timeout=5)]
        self.assertEqual(got, sizes)

    def test_ping_pong(self):
        sizes = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        outbox = []
        cv = threading.Condition()

        def requests():
            for resp_size, req_size in sizes:
                yield self.msg.StreamingOutputCallRequest(
                    response_parameters=[self.msg.ResponseParameters(size=resp_size)],
                    payload=self.msg.Payload(body=b"\0" * req_size))
                with cv:  # wait for the answer before the next ping
                    cv.wait_for(lambda: len(outbox) >= 1, timeout=5)
                    outbox.pop()

        got = []
        for r in self.stub.FullDuplexCall(requests(), timeout=10):
            got.append(len(r.payload.body))
            with cv:
                outbox.append(1)
                cv.notify()
        self.assertEqual(got, [s for s, _ in sizes])

    def test_status_code_and_message(self):
        req = self.msg.SimpleRequest(
            response_status=self.msg.EchoStatus(code=2, message="test status message"))
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(req, timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNKNOWN)
        self.assertEqual(e.exception.details(), "test status message")

    def test_custom_metadata(self):
        req = self.msg.SimpleRequest(response_size=314159,
                                     payload=self.msg.Payload(body=b"\0" * 271828))
        md = (("x-grpc-test-echo-initial", "test_initial_metadata_value"),
              ("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b"))
        _, call = self.stub.UnaryCall.with_call(req, metadata=md, timeout=5)
        self.assertIn(md[0], call.initial_metadata())
        self.assertIn(md[1], call.trailing_metadata())

    def test_unimplemented_method(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnimplementedCall(self.empty.Empty(), timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_timeout_on_sleeping_server(self):
        req = self.msg.StreamingOutputCallRequest(
            response_parameters=[self.msg.ResponseParameters(size=1, interval_us=2000000)])
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stub.StreamingOutputCall(req, timeout=0.05))
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)

    def test_empty_stream(self):
        self.assertEqual(list(self.stub.FullDuplexCall(iter([]), timeout=5)), [])

    def test_cancel_after_begin(self):
        gate = threading.Event()

        def requests():
            gate.wait(5)  # send nothing before the cancel
            return
            yield

        call = self.stub.StreamingInputCall.future(requests(), timeout=5)
        call.cancel()
        gate.set()
        with self.assertRaises(grpc.FutureCancelledError):
            call.result()
        self.assertTrue(call.cancelled())

    def test_cancel_after_first_response(self):
        gate = threading.Event()

        def requests():
            yield self.msg.StreamingOutputCallRequest(
                response_parameters=[self.msg.ResponseParameters(size=31415)],
                payload=self.msg.Payload(body=b"\0" * 27182))
            gate.wait(5)

        call = self.stub.FullDuplexCall(requests(), timeout=10)
        first = next(call)
        self.assertEqual(len(first.payload.body), 31415)
        call.cancel()
        gate.set()
        with self.assertRaises(grpc.RpcError) as e:
            next(call)
        self.assertEqual(e.exception.code(), grpc.StatusCode.CANCELLED)

    def test_special_status_message(self):
        text = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
        req = self.msg.SimpleRequest(response_status=self.msg.EchoStatus(code=2, message=text))
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(req, timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNKNOWN)
        self.assertEqual(e.exception.details(), text)

    def test_unimplemented_service(self):
        stub = self.test_grpc.UnimplementedServiceStub(self.server.channel)
        with self.assertRaises(grpc.RpcError) as e:
            stub.UnimplementedCall(self.empty.Empty(), timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_zz_sigterm_exits_zero(self):  # runs last (alphabetical)
        self.assertEqual(self.server.stop(), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
