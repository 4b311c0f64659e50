"""Growing a 2-partition percore cluster on loopback to 3 (issue 14 item 7,
services/cluster/GROWING.md), driven by Python's grpcio through percore_py.grow (the procedure of
`tools/cluster grow`): users, orders and products written before; reads through both old members
in a loop during the growth (none fails); while frozen a CreateUser answers UNAVAILABLE "the
cluster is growing" and a name change is served. After it: every user (with its email), order and
product is readable through every member, every old email is refused to a new user at every
member (no email claimable twice: the claims moved to their new partition), new users land on
partition 2 too (and their orders and their emails' uniqueness work there), ListUsers through
the new member lists everyone, a watch of every user through an old member sees partition 2. Then every member is restarted on its --data-dir with the printed
--grown history: all of it still holds. With JWT on, ClusterAdmin refuses a caller without the
`service` or `admin` role, and growth with a `service` token works.
Usage: cluster_grow_python_test.py PATH/TO/percore-server"""

import sys
import tempfile
import threading
import time
import unittest
import uuid

import grpc
import jwt

from percore_py.cluster import Cluster
from order_flow_support import load_messages, member_stubs, pb
from user_cluster_support import owner_of_user, start_data_dir_cluster, write_file

SERVER = None
TIMEOUT = 30  # per call: a bound so that nothing hangs, not a claim about speed
SECRET = "percore-cluster-grow-secret-0123456789abcdef"


def bearer(sub, roles):
    now = int(time.time())
    return [("authorization", "Bearer " + jwt.encode(
        {"sub": sub, "roles": roles, "iat": now, "exp": now + 300}, SECRET, algorithm="HS256"))]


class ClusterGrow(unittest.TestCase):
    def setUp(self):
        load_messages(self)
        start_data_dir_cluster(self, SERVER, 2, "percore-cluster-grow-",
                               ["--snapshot-every", "4KiB"], self.stop_cluster)
        self.connect()

    def stop_cluster(self):
        self.close_channels()
        codes = self.cluster.stop()
        self.assertTrue(all(code in (0, None) for code in codes), codes)

    def connect(self):
        self.channels = [grpc.insecure_channel(a) for a in self.cluster.addresses]
        member_stubs(self)

    def close_channels(self):
        for c in getattr(self, "channels", []):
            c.close()
        self.channels = []

    # --- helpers ---------------------------------------------------------------------------

    def create_user(self, member):
        tag = uuid.uuid4().hex[:12]
        return self.users[member].CreateUser(
            self.user_pb.CreateUserRequest(name="Grow " + tag, email=tag + "@example.com"),
            timeout=TIMEOUT)

    def create_product(self, sku):
        self.inventory[0].CreateProduct(self.inv_pb.CreateProductRequest(
            sku=sku, name="Widget " + sku,
            price=self.money_pb.Money(amount_minor=250, currency="USD"), initial_stock=1000),
            timeout=TIMEOUT)

    def create_order(self, member, user_id, sku):
        return self.orders[member].CreateOrder(self.order_pb.CreateOrderRequest(
            user_id=user_id, items=[self.order_pb.LineItem(sku=sku, quantity=1)],
            payment_method=self.pay_pb.PaymentMethod(token="tok_approve")), timeout=TIMEOUT)

    def owner_of_user(self, user_id):
        return owner_of_user(self, lambda i: self.users[i], self.user_pb, user_id, TIMEOUT)

    def assert_everything_readable(self, users, orders, skus):
        for member in range(self.cluster.partitions):
            for user in users:
                got = self.users[member].GetUser(self.user_pb.GetUserRequest(id=user.id),
                                                 timeout=TIMEOUT)
                self.assertEqual((got.id, got.email), (user.id, user.email),
                                 "through member %d" % member)
            for order in orders:
                got = self.orders[member].GetOrder(self.order_pb.GetOrderRequest(id=order.id),
                                                   timeout=TIMEOUT)
                self.assertEqual((got.id, got.user_id), (order.id, order.user_id))
            for sku in skus:
                got = self.inventory[member].GetProduct(self.inv_pb.GetProductRequest(sku=sku),
                                                        timeout=TIMEOUT)
                self.assertEqual(got.sku, sku)

    def assert_emails_taken(self, users):
        for user in users:
            for member in range(self.cluster.partitions):
                with self.assertRaises(grpc.RpcError, msg="%s through member %d"
                                       % (user.email, member)) as raised:
                    self.users[member].CreateUser(self.user_pb.CreateUserRequest(
                        name="Twin", email=user.email.upper()), timeout=TIMEOUT)
                self.assertEqual(raised.exception.code(), grpc.StatusCode.ALREADY_EXISTS,
                                 "%s through member %d: %s" % (user.email, member,
                                                               raised.exception.details()))

    def listed_ids(self, member):
        return {u.id for u in self.users[member].ListUsers(
            self.user_pb.ListUsersRequest(page_size=1000), timeout=TIMEOUT)}

    def assert_watch_sees_every_partition(self, member, user_on_two):
        """A watch of every user opened through an old member after the switch spans the new
        partition too: a change of a partition-2 user reaches it."""
        call = self.users[member].WatchUserUpdates(self.user_pb.WatchUserRequest(), timeout=30)
        seen = threading.Event()

        def read():
            try:
                for update in call:
                    if update.user.id == user_on_two:
                        seen.set()
                        return
            except grpc.RpcError:
                pass

        call.initial_metadata()  # sent once every partition has registered the watch
        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        self.users[member].UpdateUser(self.user_pb.UpdateUserRequest(
            id=user_on_two, name="Watched on partition 2"), timeout=TIMEOUT)
        self.assertTrue(seen.wait(TIMEOUT), "the watch through member %d missed partition 2"
                        % member)
        call.cancel()
        thread.join(TIMEOUT)

    # --- the test --------------------------------------------------------------------------

    def test_grow_2_to_3_keeps_everything_and_reads_go_on(self):
        skus = ["grow-%s-%d" % (uuid.uuid4().hex[:8], i) for i in range(6)]
        for sku in skus:
            self.create_product(sku)
        users = [self.create_user(i % 2) for i in range(24)]
        orders = [self.create_order(i % 2, users[i].id, skus[i % len(skus)]) for i in range(8)]
        self.assertEqual({self.owner_of_user(u.id) for u in users}, {0, 1})

        # Reads through both old members, in a loop, for the whole growth.
        stop = threading.Event()
        failures, rounds = [], [0]

        def read_loop():
            while not stop.is_set():
                for member in (0, 1):
                    for user in users[:6]:
                        try:
                            self.users[member].GetUser(self.user_pb.GetUserRequest(id=user.id),
                                                       timeout=TIMEOUT)
                            self.orders[member].GetOrder(
                                self.order_pb.GetOrderRequest(id=orders[0].id), timeout=TIMEOUT)
                            self.inventory[member].GetProduct(
                                self.inv_pb.GetProductRequest(sku=skus[0]), timeout=TIMEOUT)
                        except grpc.RpcError as e:
                            failures.append("member %d: %s %s" % (member, e.code(), e.details()))
                rounds[0] += 1

        reader = threading.Thread(target=read_loop)
        reader.start()
        frozen_checks = []

        def on_step(line):
            if not line.startswith("frozen"):
                return
            # Frozen: no id drawn, no email claimed; reads and a name change served.
            with self.assertRaises(grpc.RpcError) as raised:
                self.create_user(0)
            frozen_checks.append((raised.exception.code(), raised.exception.details()))
            self.users[1].UpdateUser(self.user_pb.UpdateUserRequest(
                id=users[0].id, name="Renamed while frozen"), timeout=TIMEOUT)
            frozen_checks.append("renamed")

        try:
            grown = self.cluster.grow(3, log=on_step)
        finally:
            stop.set()
            reader.join()
        self.assertEqual(failures, [])
        self.assertGreater(rounds[0], 0)
        self.assertEqual(frozen_checks, [(grpc.StatusCode.UNAVAILABLE,
                                          "the cluster is growing; retry"), "renamed"])
        self.assertRegex(grown, r"^2,3@\d+$")
        users[0].name = "Renamed while frozen"
        self.close_channels()
        self.connect()

        # Every old user, email, order and product through every member, ids still where they
        # were drawn.
        self.assert_everything_readable(users, orders, skus)
        self.assertEqual({self.owner_of_user(u.id) for u in users}, {0, 1})
        self.assert_emails_taken(users)

        # New users spread over all three partitions; their orders and emails work there.
        new_users = [self.create_user(i % 3) for i in range(30)]
        owners = {u.id: self.owner_of_user(u.id) for u in new_users}
        self.assertIn(2, set(owners.values()))
        on_two = [u for u in new_users if owners[u.id] == 2]
        new_orders = [self.create_order(0, on_two[0].id, skus[1])]
        self.assert_everything_readable(new_users, new_orders, skus)
        self.assert_emails_taken(new_users[:6] + on_two[:2])
        listed_skus = {p.sku for p in self.inventory[2].ListProducts(
            self.inv_pb.ListProductsRequest(page_size=1000), timeout=TIMEOUT)}
        self.assertTrue(set(skus) <= listed_skus)
        self.assert_watch_sees_every_partition(0, on_two[0].id)
        everyone = {u.id for u in users + new_users}
        self.assertTrue(everyone <= self.listed_ids(2))
        self.assertTrue(everyone <= self.listed_ids(0))

        # A restart of every member on its --data-dir with the printed history keeps it all.
        self.close_channels()
        for i in range(3):
            self.cluster.stop_member(i)
        for i in range(3):
            self.cluster.start_member(i)
        self.connect()
        self.assert_everything_readable(users + new_users, orders + new_orders, skus)
        self.assert_emails_taken(users[:8] + on_two[:2])
        self.assertEqual(self.owner_of_user(on_two[0].id), 2)
        later = [self.create_user(i % 3) for i in range(6)]
        self.assert_everything_readable(later, [], [])


class ClusterGrowAuth(unittest.TestCase):
    """With JWT on: ClusterAdmin is a member call (the `service` or `admin` role); a user's token
    is refused, and growth with a `service` token works."""

    def test_admin_calls_need_the_service_role(self):
        admin_pb = pb("cluster.v1.cluster_admin_pb2")
        admin_grpc = pb("cluster.v1.cluster_admin_pb2_grpc")
        user_pb = pb("user.v1.user_pb2")
        with tempfile.TemporaryDirectory(prefix="percore-cluster-grow-auth-") as d:
            secret = write_file(d, "secret", SECRET)
            member_token = bearer("percore-members", ["service"])[0][1].split(" ", 1)[1]
            peer = write_file(d, "peer", member_token)
            cluster = Cluster(SERVER, 2, flags=["--services", "user", "--jwt-secret-file", secret,
                                                "--peer-token-file", peer])
            self.addCleanup(cluster.stop)
            cluster.start()
            with grpc.insecure_channel(cluster.addresses[0]) as channel:
                stub = admin_grpc.ClusterAdminStub(channel)
                for token in ([], bearer("someone", ["user"])):
                    with self.assertRaises(grpc.RpcError) as raised:
                        stub.Freeze(admin_pb.FreezeRequest(), metadata=token, timeout=TIMEOUT)
                    self.assertIn(raised.exception.code(), (grpc.StatusCode.UNAUTHENTICATED,
                                                            grpc.StatusCode.PERMISSION_DENIED))
                user = pb("user.v1.user_pb2_grpc").UserServiceStub(channel).CreateUser(
                    user_pb.CreateUserRequest(name="A", email="a-%s@example.com"
                                              % uuid.uuid4().hex[:8]),
                    metadata=bearer("root", ["admin"]), timeout=TIMEOUT)
            self.assertRegex(cluster.grow(3, metadata=bearer("percore-members", ["service"])),
                             r"^2,3@\d+$")
            with grpc.insecure_channel(cluster.addresses[2]) as channel:
                got = pb("user.v1.user_pb2_grpc").UserServiceStub(channel).GetUser(
                    user_pb.GetUserRequest(id=user.id), metadata=bearer("root", ["admin"]),
                    timeout=TIMEOUT)
                self.assertEqual(got.email, user.email)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
