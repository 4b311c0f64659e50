"""The real percore-server's user.v1.UserService driven by Python's grpcio, a client percore did
not write (shared/spec/user-service.md): create, get, update, list with paging through the
next-page-token trailer, a watch read in a thread, delete, ALREADY_EXISTS, INVALID_ARGUMENT,
health and reflection for the service, then a clean SIGTERM.
Usage: user_python_test.py PATH/TO/percore-server"""

import re
import sys
import threading
import unittest

import grpc

from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None
UUID_V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMEOUT = 10


class UserServiceWithPythonClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(SERVER, "--shards", "2", "--shutdown-grace", "2", "--services", "user")
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.health, cls.health_grpc = stub_modules("grpc.health.v1.health")
        cls.refl, cls.refl_grpc = stub_modules("grpc.reflection.v1alpha.reflection")
        cls.stub = cls.pb_grpc.UserServiceStub(cls.server.channel)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def create(self, name, email, roles=()):
        return self.stub.CreateUser(
            self.pb.CreateUserRequest(name=name, email=email, roles=list(roles)), timeout=TIMEOUT)

    def assert_code(self, code, fn, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as e:
            fn(*args, timeout=TIMEOUT, **kwargs)
        self.assertEqual(e.exception.code(), code, e.exception.details())
        return e.exception

    def list_page(self, page_size, page_token=""):
        """One ListUsers call: (users, next-page-token or None)."""
        call = self.stub.ListUsers(
            self.pb.ListUsersRequest(page_size=page_size, page_token=page_token), timeout=TIMEOUT)
        users = list(call)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        token = dict(call.trailing_metadata() or ()).get("next-page-token") or None
        return users, token

    def test_create_get_update_delete(self):
        created = self.create("  Ada Lovelace ", " Ada@Example.com ", ["admin", "dev", "admin"])
        self.assertRegex(created.id, UUID_V7)
        self.assertEqual(created.email, "Ada@Example.com")
        self.assertEqual(sorted(created.roles), ["admin", "dev"])
        self.assertEqual(created.created_at, created.updated_at)

        got = self.stub.GetUser(self.pb.GetUserRequest(id=created.id), timeout=TIMEOUT)
        self.assertEqual(got, created)

        renamed = self.stub.UpdateUser(self.pb.UpdateUserRequest(id=created.id, name="Ada King"),
                                       timeout=TIMEOUT)
        self.assertEqual(renamed.name, "Ada King")
        self.assertEqual(renamed.email, "Ada@Example.com")
        self.assertEqual(sorted(renamed.roles), ["admin", "dev"])
        self.assertEqual(renamed.created_at, created.created_at)
        self.assertGreaterEqual(renamed.updated_at.ToNanoseconds(),
                                created.updated_at.ToNanoseconds())

        # update_mask decides: roles cleared, the name given alongside left alone.
        req = self.pb.UpdateUserRequest(id=created.id, name="Ignored")
        req.update_mask.paths.append("roles")
        cleared = self.stub.UpdateUser(req, timeout=TIMEOUT)
        self.assertEqual(list(cleared.roles), [])
        self.assertEqual(cleared.name, "Ada King")

        self.assertEqual(
            self.stub.DeleteUser(self.pb.DeleteUserRequest(id=created.id), timeout=TIMEOUT)
            .ByteSize(), 0)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.GetUser,
                         self.pb.GetUserRequest(id=created.id))
        # The email is free again at once.
        self.create("Ada again", "ada@example.com")

    def test_duplicate_email_is_already_exists(self):
        first = self.create("Grace", "grace@example.com")
        self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.stub.CreateUser,
                         self.pb.CreateUserRequest(name="Other", email="GRACE@example.COM"))
        other = self.create("Other", "other@example.com")
        self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.stub.UpdateUser,
                         self.pb.UpdateUserRequest(id=other.id, email="Grace@Example.com"))
        self.assertEqual(
            self.stub.GetUser(self.pb.GetUserRequest(id=first.id), timeout=TIMEOUT), first)

    def test_invalid_argument_names_the_field(self):
        cases = [
            (self.stub.CreateUser, self.pb.CreateUserRequest(name="", email="x@example.com"),
             "name"),
            (self.stub.CreateUser, self.pb.CreateUserRequest(name="X", email="no-at-sign"),
             "email"),
            (self.stub.CreateUser,
             self.pb.CreateUserRequest(name="X", email="x@example.com", roles=["bad role"]),
             "role"),
            (self.stub.GetUser, self.pb.GetUserRequest(id="not-a-uuid"), "id"),
        ]
        for method, request, field in cases:
            with self.subTest(field=field):
                error = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, method, request)
                self.assertIn(field, error.details())
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stub.ListUsers(self.pb.ListUsersRequest(page_size=-1), timeout=TIMEOUT))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stub.ListUsers(self.pb.ListUsersRequest(page_token="forged"),
                                     timeout=TIMEOUT))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_list_pages_through_the_trailing_token(self):
        mine = {self.create("Lister %d" % i, "lister%d@example.com" % i).id for i in range(11)}
        everyone, token = self.list_page(1000)
        self.assertIsNone(token)
        walked, pages, token = [], 0, ""
        while True:
            users, token = self.list_page(3, token or "")
            pages += 1
            walked += [u.id for u in users]
            if token is None:
                break
            self.assertEqual(len(users), 3, "a page with a token is full")
            self.assertLess(pages, 1000)
        self.assertEqual(walked, sorted(walked), "not in ascending id order")
        self.assertEqual(len(walked), len(set(walked)), "a user came twice")
        self.assertEqual(walked, [u.id for u in everyone])
        self.assertTrue(mine <= set(walked))

    def test_watch_in_a_thread(self):
        user = self.create("Watched", "watched@example.com")
        registered = threading.Event()
        result = {}

        def watch():
            call = self.stub.WatchUserUpdates(self.pb.WatchUserRequest(user_id=user.id),
                                              timeout=TIMEOUT)
            call.initial_metadata()  # the watch is registered
            registered.set()
            try:
                result["events"] = list(call)
                result["code"] = call.code()
            except grpc.RpcError as e:
                result["code"] = e.code()

        thread = threading.Thread(target=watch)
        thread.start()
        self.assertTrue(registered.wait(TIMEOUT), "no initial metadata")
        updated = self.stub.UpdateUser(self.pb.UpdateUserRequest(id=user.id, name="Seen"),
                                       timeout=TIMEOUT)
        self.stub.DeleteUser(self.pb.DeleteUserRequest(id=user.id), timeout=TIMEOUT)
        thread.join(TIMEOUT + 5)
        self.assertFalse(thread.is_alive())
        self.assertEqual(result.get("code"), grpc.StatusCode.OK, "ends with OK after DELETED")
        kinds = [(e.type, e.user_id) for e in result["events"]]
        self.assertEqual(kinds, [(self.pb.UserUpdate.UPDATE_TYPE_UPDATED, user.id),
                                 (self.pb.UserUpdate.UPDATE_TYPE_DELETED, user.id)])
        self.assertEqual(result["events"][0].user, updated)
        self.assertEqual(result["events"][1].user, updated)  # as it was last

        self.assert_code(grpc.StatusCode.NOT_FOUND, lambda req, timeout: list(
            self.stub.WatchUserUpdates(req, timeout=timeout)),
            self.pb.WatchUserRequest(user_id=user.id))

    def test_health_and_reflection_know_the_service(self):
        h = self.health_grpc.HealthStub(self.server.channel)
        for name in ("", "user.v1.UserService"):
            r = h.Check(self.health.HealthCheckRequest(service=name), timeout=TIMEOUT)
            self.assertEqual(r.status, self.health.HealthCheckResponse.SERVING, name)
        r = self.refl_grpc.ServerReflectionStub(self.server.channel)
        requests = [
            self.refl.ServerReflectionRequest(list_services=""),
            self.refl.ServerReflectionRequest(file_containing_symbol="user.v1.UserService"),
        ]
        responses = list(r.ServerReflectionInfo(iter(requests), timeout=TIMEOUT))
        names = {s.name for s in responses[0].list_services_response.service}
        self.assertIn("user.v1.UserService", names)
        self.assertTrue(responses[1].file_descriptor_response.file_descriptor_proto)

    def test_zz_sigterm_exits_zero(self):  # runs last (alphabetical)
        self.assertEqual(self.server.stop(), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
