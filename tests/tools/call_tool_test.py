"""percore-call against the real percore-server: list, describe, calls of every shape with
JSON in and out, -d from a file and stdin, -v headers and trailers, --proto, and the error
line and exit status on a non-OK status."""

import json
import tempfile
import unittest

import tools_support as ts

SERVICES = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "grpc.testing.TestService", "inventory.v1.InventoryService", "order.v1.OrderService",
            "payment.v1.PaymentService", "user.v1.UserService"]


class CallListDescribeTest(unittest.TestCase):
    def ok(self, *args, stdin=None):
        return ts.call_ok(self, *args, stdin=stdin)

    def test_list_services(self):
        self.assertEqual(self.ok("list").splitlines(), SERVICES)

    def test_list_methods(self):
        methods = self.ok("list", "user.v1.UserService").splitlines()
        self.assertIn("user.v1.UserService.GetUser", methods)
        self.assertIn("user.v1.UserService.WatchUserUpdates", methods)
        self.assertEqual(len(methods), 6)

    def test_describe_service_method_message(self):
        service = self.ok("describe", "user.v1.UserService")
        self.assertTrue(service.startswith("user.v1.UserService is a service:\n"))
        self.assertIn("rpc GetUser(.user.v1.GetUserRequest) returns (.user.v1.User);", service)
        self.assertIn("returns (stream .user.v1.User);", service)
        method = self.ok("describe", "user.v1.UserService.CreateUser")
        self.assertIn("is a method:", method)
        self.assertEqual(method, self.ok("describe", "user.v1.UserService/CreateUser"))
        message = self.ok("describe", "user.v1.User")
        self.assertIn("message User {", message)
        self.assertIn("string email = 3;", message)
        self.assertIn(".google.protobuf.Timestamp created_at = 5;", message)
        enum = self.ok("describe", "user.v1.UserUpdate.UpdateType")
        self.assertIn("UPDATE_TYPE_CREATED = 1;", enum)
        everything = self.ok("describe")
        for name in SERVICES:
            self.assertIn(name + " is a service:", everything)

    def test_describe_unknown_symbol(self):
        result = ts.call("describe", "user.v1.Nothing")
        self.assertEqual(result.returncode, 1)
        self.assertIn("'user.v1.Nothing' not found", result.stderr)

    def test_list_and_describe_from_proto_files_need_no_server(self):
        result = ts.run("call", "--proto", ts.USER_PROTO, "-i", ts.PROTO_DIR, ts.UNREACHABLE,
                        "list")
        self.assertEqual((result.returncode, result.stdout), (0, "user.v1.UserService\n"),
                         result.stderr)
        result = ts.run("call", "--proto", ts.USER_PROTO, ts.UNREACHABLE, "describe",
                        "user.v1.CreateUserRequest")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("repeated string roles = 3;", result.stdout)


class CallInvokeTest(unittest.TestCase):
    def ok(self, *args, stdin=None):
        return ts.call_ok(self, *args, stdin=stdin)

    def test_create_then_get(self):
        created = json.loads(self.ok("call", "user.v1.UserService.CreateUser", "-d",
                                     '{"name": "Grace", "email": "grace@example.com",'
                                     ' "roles": ["dev"]}'))
        self.assertEqual((created["name"], created["roles"]), ("Grace", ["dev"]))
        self.assertIn("createdAt", created)  # proto3 JSON names
        got = json.loads(self.ok("call", "user.v1.UserService/GetUser", "-d",
                                 json.dumps({"id": created["id"]})))
        self.assertEqual(got, created)

    def test_pretty_by_default_compact_on_request(self):
        pretty = self.ok("call", "grpc.testing.TestService.UnaryCall", "-d", '{"response_size": 2}')
        self.assertIn('\n  "payload": {\n', pretty)
        compact = self.ok("call", "grpc.testing.TestService.UnaryCall", "--compact",
                          "-d", '{"response_size": 2}')
        self.assertEqual(compact, '{"payload":{"body":"AAA="}}\n')

    def test_data_from_file_and_stdin(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write('{"response_size": 3}')
            f.flush()
            from_file = self.ok("call", "grpc.testing.TestService.UnaryCall", "--compact",
                                "-d", "@" + f.name)
        from_stdin = self.ok("call", "grpc.testing.TestService.UnaryCall", "--compact",
                             "-d", "-", stdin='{"response_size": 3}')
        self.assertEqual(from_file, '{"payload":{"body":"AAAA"}}\n')
        self.assertEqual(from_stdin, from_file)

    def test_server_stream_prints_each_message(self):
        out = self.ok("call", "grpc.testing.TestService.StreamingOutputCall", "--compact", "-d",
                      '{"response_parameters": [{"size": 1}, {"size": 2}, {"size": 3}]}')
        sizes = [len(json.loads(line)["payload"]["body"]) for line in out.splitlines()]
        self.assertEqual(sizes, [4, 4, 4])  # base64 of 1, 2 and 3 bytes
        self.assertEqual(len(out.splitlines()), 3)

    def test_client_stream_takes_an_array(self):
        out = self.ok("call", "grpc.testing.TestService.StreamingInputCall", "--compact", "-d",
                      '[{"payload": {"body": "YWJj"}}, {"payload": {"body": "YQ=="}}]')
        self.assertEqual(json.loads(out), {"aggregatedPayloadSize": 4})

    def test_bidi_stream(self):
        out = self.ok("call", "grpc.testing.TestService.FullDuplexCall", "--compact", "-d",
                      '[{"response_parameters": [{"size": 1}]},'
                      ' {"response_parameters": [{"size": 2}, {"size": 3}]}]')
        self.assertEqual(len(out.splitlines()), 3)

    def test_verbose_shows_headers_and_trailers(self):
        out = self.ok("call", "-v", "grpc.testing.TestService.UnaryCall",
                      "-m", '{"x-grpc-test-echo-initial": "hello"}', "-d", "{}")
        for text in ["Resolved method descriptor:", "rpc UnaryCall(", "Request metadata to send:",
                     "x-grpc-test-echo-initial: hello", "Response headers received:",
                     "Response contents:", "Response trailers received:",
                     "Sent 1 request and received 1 response"]:
            self.assertIn(text, out)
        headers = out.split("Response headers received:")[1].split("Response contents:")[0]
        self.assertIn("x-grpc-test-echo-initial: hello", headers)

    def test_proto_file_instead_of_reflection(self):
        out = self.ok("--proto", ts.TEST_PROTO, "-i", "/usr/share/grpc-proto", "call",
                      "grpc.testing.TestService.UnaryCall", "--compact", "-d",
                      '{"response_size": 1}')
        self.assertEqual(out, '{"payload":{"body":"AA=="}}\n')


class CallErrorTest(unittest.TestCase):
    def test_not_found_status(self):
        result = ts.call("call", "user.v1.UserService.GetUser",
                         "-d", '{"id": "00000000-0000-7000-8000-000000000000"}')
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertRegex(result.stderr, r"^ERROR: code=NotFound message=.+\n$")

    def test_invalid_argument_status(self):
        result = ts.call("call", "user.v1.UserService.GetUser", "-d", '{"id": "nope"}')
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith("ERROR: code=InvalidArgument message="),
                        result.stderr)

    def test_unimplemented_method(self):
        result = ts.call("call", "grpc.testing.TestService.UnimplementedCall")
        self.assertEqual(result.returncode, 1)
        self.assertIn("ERROR: code=Unimplemented", result.stderr)

    def test_timeout(self):
        result = ts.call("call", "--timeout", "100ms",
                         "grpc.testing.TestService.StreamingOutputCall", "-d",
                         '{"response_parameters": [{"size": 1, "interval_us": 2000000}]}')
        self.assertEqual(result.returncode, 1)
        self.assertIn("ERROR: code=DeadlineExceeded", result.stderr)

    def test_usage_errors(self):
        cases = [
            (["call", "user.v1.UserService.GetUser", "-d", "{bad"], "bad JSON"),
            (["call", "user.v1.UserService.GetUser", "-d", '[{"id": "a"}, {"id": "b"}]'],
             "takes one request message"),
            (["call", "user.v1.UserService.GetUser", "-d", '{"nope": 1}'], "nope"),
            (["frobnicate"], "unknown command"),
            (["call", "user.v1.UserService.GetUser", "--bogus"], "--bogus"),
        ]
        for args, needle in cases:
            result = ts.call(*args)
            self.assertEqual(result.returncode, 2, (args, result.stderr))
            self.assertIn(needle, result.stderr)

    def test_unknown_method(self):
        result = ts.call("call", "user.v1.UserService.Nope")
        self.assertEqual(result.returncode, 1)
        self.assertIn("method 'Nope' not found in service 'user.v1.UserService'", result.stderr)

    def test_unreachable_server(self):
        result = ts.run("call", ts.UNREACHABLE, "list")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot connect to 127.0.0.1:1", result.stderr)
