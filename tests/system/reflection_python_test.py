"""percore's own server reflection (services/reflection) driven by Python's grpcio, on both
grpc.reflection.v1alpha and grpc.reflection.v1 (the same cases run for each): list_services,
file_by_filename, file_containing_symbol for every kind of symbol, file_containing_extension and
all_extension_numbers_of_type, NOT_FOUND / INVALID_ARGUMENT error responses, each file's
dependencies sent once per stream, many requests answered in order on one stream (read late, so
the server's write queue fills and it must wait for room), and the files sent being enough for a
client to build a descriptor pool.
Usage: reflection_python_test.py PATH/TO/percore-server"""

import sys
import threading
import unittest

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool

from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 20
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT.value[0]
HOSTED = {"user.v1.UserService", "inventory.v1.InventoryService", "payment.v1.PaymentService",
          "order.v1.OrderService", "grpc.testing.TestService", "grpc.health.v1.Health",
          "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}


def file_names(response):
    return [descriptor_pb2.FileDescriptorProto.FromString(b).name
            for b in response.file_descriptor_response.file_descriptor_proto]


class ReflectionCases:
    """The cases, for the version the subclass names."""
    version = None

    @classmethod
    def setUpClass(cls):
        cls.pb, cls.pb_grpc = stub_modules("grpc.reflection.%s.reflection" % cls.version)
        cls.stub = cls.pb_grpc.ServerReflectionStub(SERVER_PROCESS.channel)

    def exchange(self, *requests):
        """All `requests` on one stream; the answers in order, one per request."""
        responses = list(self.stub.ServerReflectionInfo(iter(requests), timeout=TIMEOUT))
        self.assertEqual(len(responses), len(requests))
        for request, response in zip(requests, responses):
            self.assertEqual(response.original_request, request)
        return responses

    def one(self, **request):
        return self.exchange(self.pb.ServerReflectionRequest(**request))[0]

    def assert_error(self, response, code, mentions):
        self.assertEqual(response.WhichOneof("message_response"), "error_response")
        self.assertEqual(response.error_response.error_code, code)
        self.assertIn(mentions, response.error_response.error_message)

    def test_list_services_names_every_hosted_service_and_echoes_the_host(self):
        response = self.one(host="example.test", list_services="*")
        self.assertEqual(response.valid_host, "example.test")
        self.assertEqual({s.name for s in response.list_services_response.service}, HOSTED)

    def test_file_by_filename_sends_the_file_then_its_transitive_dependencies(self):
        names = file_names(self.one(file_by_filename="order/v1/order.proto"))
        self.assertEqual(names[0], "order/v1/order.proto")
        # order imports money, timestamp and payment; payment imports money and timestamp again.
        self.assertEqual(sorted(names), sorted([
            "order/v1/order.proto", "commerce/v1/money.proto", "google/protobuf/timestamp.proto",
            "payment/v1/payment.proto"]))

    def test_files_sent_build_a_descriptor_pool(self):
        response = self.one(file_containing_symbol="user.v1.UserService")
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in response.file_descriptor_response.file_descriptor_proto]
        pool = descriptor_pool.DescriptorPool()
        for f in reversed(files):  # dependencies come after their dependents
            pool.Add(f)
        service = pool.FindServiceByName("user.v1.UserService")
        self.assertIn("GetUser", [m.name for m in service.methods])
        self.assertEqual(pool.FindMessageTypeByName("user.v1.User").fields_by_name[
            "created_at"].message_type.full_name, "google.protobuf.Timestamp")

    def test_file_containing_symbol_finds_every_kind_of_symbol(self):
        cases = {
            "user.v1.UserService": "user/v1/user.proto",                 # service
            "user.v1.UserService.GetUser": "user/v1/user.proto",         # method
            "user.v1.User": "user/v1/user.proto",                        # message
            "user.v1.User.email": "user/v1/user.proto",                  # field
            "user.v1.UserUpdate.UpdateType": "user/v1/user.proto",       # nested enum
            "user.v1.UserUpdate.UPDATE_TYPE_CREATED": "user/v1/user.proto",  # its value
            "order.v1.OrderStatus": "order/v1/order.proto",              # top-level enum
            "commerce.v1.Money": "commerce/v1/money.proto",
            "google.protobuf.Timestamp": "google/protobuf/timestamp.proto",
            "grpc.health.v1.Health": "grpc/health/v1/health.proto",
            "grpc.reflection.v1alpha.ServerReflection":
                "grpc/reflection/v1alpha/reflection.proto",
            "grpc.reflection.v1.ServerReflection": "grpc/reflection/v1/reflection.proto",
            "grpc.reflection.v1.ServerReflection.ServerReflectionInfo":
                "grpc/reflection/v1/reflection.proto",
        }
        symbols = list(cases)
        # One stream per symbol: each answer then starts with the defining file whatever was sent.
        for symbol in symbols:
            with self.subTest(symbol=symbol):
                names = file_names(self.one(file_containing_symbol=symbol))
                self.assertEqual(names[0], cases[symbol])

    def test_unknown_symbol_file_and_type_are_not_found(self):
        ext = self.pb.ExtensionRequest
        responses = self.exchange(
            self.pb.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
            self.pb.ServerReflectionRequest(file_by_filename="no/such/file.proto"),
            self.pb.ServerReflectionRequest(all_extension_numbers_of_type="no.such.Type"),
            self.pb.ServerReflectionRequest(file_containing_extension=ext(
                containing_type="no.such.Type", extension_number=100)),
            self.pb.ServerReflectionRequest(file_containing_extension=ext(
                containing_type="user.v1.User", extension_number=100)),
            # The stream goes on after errors.
            self.pb.ServerReflectionRequest(file_containing_symbol="user.v1.User"))
        self.assert_error(responses[0], NOT_FOUND, "no.such.Symbol")
        self.assert_error(responses[1], NOT_FOUND, "no/such/file.proto")
        self.assert_error(responses[2], NOT_FOUND, "no.such.Type")
        self.assert_error(responses[3], NOT_FOUND, "no.such.Type")
        self.assert_error(responses[4], NOT_FOUND, "user.v1.User")
        self.assertEqual(file_names(responses[5])[0], "user/v1/user.proto")

    def test_request_naming_nothing_is_invalid_argument(self):
        self.assert_error(self.one(host="h"), INVALID_ARGUMENT, "list_services")

    def test_all_extension_numbers_of_a_type_without_extensions(self):
        # The linked protos declare no extensions (tests/services/reflection covers some).
        response = self.one(all_extension_numbers_of_type="user.v1.User")
        self.assertEqual(response.WhichOneof("message_response"), "all_extension_numbers_response")
        self.assertEqual(response.all_extension_numbers_response.base_type_name, "user.v1.User")
        self.assertEqual(list(response.all_extension_numbers_response.extension_number), [])

    def test_dependencies_are_sent_once_per_stream(self):
        r = self.pb.ServerReflectionRequest
        responses = self.exchange(
            r(file_by_filename="order/v1/order.proto"),
            # inventory imports money and timestamp (sent above) and duration (not yet).
            r(file_containing_symbol="inventory.v1.InventoryService"),
            # Asked again by name: the file itself comes again, its dependencies do not.
            r(file_by_filename="order/v1/order.proto"),
            r(file_containing_symbol="commerce.v1.Money"))
        self.assertEqual(len(file_names(responses[0])), 4)
        self.assertEqual(file_names(responses[1]),
                         ["inventory/v1/inventory.proto", "google/protobuf/duration.proto"])
        self.assertEqual(file_names(responses[2]), ["order/v1/order.proto"])
        self.assertEqual(file_names(responses[3]), ["commerce/v1/money.proto"])
        # A new stream starts afresh.
        self.assertEqual(len(file_names(self.one(file_by_filename="order/v1/order.proto"))), 4)

    def test_many_requests_answered_in_order_while_the_client_reads_late(self):
        r = self.pb.ServerReflectionRequest
        kinds = [
            lambda i: r(host=str(i), file_by_filename="google/protobuf/descriptor.proto"),
            lambda i: r(host=str(i), list_services=""),
            lambda i: r(host=str(i), file_containing_symbol="no.such.Symbol%d" % i),
            lambda i: r(host=str(i), file_by_filename="google/protobuf/descriptor.proto"),
            lambda i: r(host=str(i), file_containing_symbol="user.v1.User"),
            lambda i: r(host=str(i), file_by_filename="google/protobuf/descriptor.proto"),
        ]
        requests = [kinds[i % len(kinds)](i) for i in range(6000)]
        sent_all = threading.Event()

        def produce():
            yield from requests
            sent_all.set()

        call = self.stub.ServerReflectionInfo(produce(), timeout=TIMEOUT)
        # 3000 answers of descriptor.proto (6 KB each): more than the HTTP/2 windows hold (grpcio
        # reads a message only when asked), so with nothing read yet the server's write queue
        # fills (Write false) and it pauses reading until OnWritable; measured with a probe print
        # in WaitForRoom: 2000 such answers already made it wait 4 times.
        sent_all.wait(2)
        responses = list(call)
        self.assertEqual(len(responses), len(requests))
        for i, (request, response) in enumerate(zip(requests, responses)):
            self.assertEqual(response.original_request, request, i)
            self.assertEqual(response.valid_host, str(i))
        self.assertEqual(file_names(responses[0]), ["google/protobuf/descriptor.proto"])
        self.assertEqual(file_names(responses[5999]), ["google/protobuf/descriptor.proto"])
        self.assertEqual(len(file_names(responses[4])), 4)  # user.proto and its three imports
        self.assertEqual(file_names(responses[5998]), ["user/v1/user.proto"])  # imports sent
        self.assert_error(responses[5996], NOT_FOUND, "no.such.Symbol5996")
        self.assertEqual(call.code(), grpc.StatusCode.OK)


class ReflectionV1Alpha(ReflectionCases, unittest.TestCase):
    version = "v1alpha"


class ReflectionV1(ReflectionCases, unittest.TestCase):
    version = "v1"


class ServerEndsOpenReflectionStreamsOnShutdown(unittest.TestCase):
    """A tool keeping its reflection stream open does not hold shutdown to the grace period."""

    def test_open_stream_ends_unavailable_at_sigterm(self):
        server = Server(SERVER, "--shards", "2", "--shutdown-grace", "30")
        try:
            pb, pb_grpc = stub_modules("grpc.reflection.v1.reflection")
            done = threading.Event()

            def requests():
                yield pb.ServerReflectionRequest(list_services="")
                done.wait(TIMEOUT)

            call = pb_grpc.ServerReflectionStub(server.channel).ServerReflectionInfo(
                requests(), timeout=TIMEOUT)
            first = next(call)
            self.assertIn("grpc.reflection.v1.ServerReflection",
                          {s.name for s in first.list_services_response.service})
            server.proc.send_signal(15)
            with self.assertRaises(grpc.RpcError) as e:
                next(call)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
            done.set()
            # Well inside the 30 s grace period.
            self.assertEqual(server.proc.wait(timeout=10), 0)
        finally:
            server.stop()


SERVER_PROCESS = None


def setUpModule():
    global SERVER_PROCESS
    SERVER_PROCESS = Server(SERVER, "--shards", "2", "--shutdown-grace", "2")


def tearDownModule():
    # A clean exit after every stream above (under ASan: no leak, no error report).
    code = SERVER_PROCESS.stop()
    if code != 0:
        raise AssertionError("server exited %d: %s" % (code, SERVER_PROCESS.stderr_text()[-4000:]))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
