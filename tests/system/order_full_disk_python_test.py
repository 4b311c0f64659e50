"""Orders on a full disk (issue 10 item 6): percore-server with every service and --data-dir,
its files limited in size (RLIMIT_FSIZE set in the child before exec, raised later with prlimit:
unprivileged, like a small tmpfs filling up). CreateOrder is answered UNAVAILABLE naming the data
directory once the log cannot be written — never INTERNAL, never held past the caller's deadline
— reads go on, and orders are taken again when space returns.
Usage: order_full_disk_python_test.py PERCORE_SERVER"""

import os
import resource
import sys
import time
import unittest
import uuid

import grpc

from durability_support import DataDirTest
from percore_py.server import Server
from percore_py.stubs import stub_module

SERVER = None
LIMIT = 96 << 10


def pb(name):
    return stub_module(name)


class OrderFullDisk(DataDirTest):
    PREFIX = "percore-order-full-disk-"

    def test_orders_refused_unavailable_then_resume(self):
        def small_files():
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, hard))

        server = Server(SERVER, "--shards", "1", "--data-dir", self.dir, "--snapshot-every", "0",
                        preexec_fn=small_files)
        try:
            user_pb, inv_pb, pay_pb = (pb("user.v1.user_pb2"), pb("inventory.v1.inventory_pb2"),
                                       pb("payment.v1.payment_pb2"))
            order_pb = pb("order.v1.order_pb2")
            users = pb("user.v1.user_pb2_grpc").UserServiceStub(server.channel)
            inventory = pb("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(server.channel)
            orders = pb("order.v1.order_pb2_grpc").OrderServiceStub(server.channel)
            user = users.CreateUser(user_pb.CreateUserRequest(
                name="Buyer", email=uuid.uuid4().hex[:12] + "@example.com"), timeout=10).id
            sku = "sku-" + uuid.uuid4().hex[:12]
            inventory.CreateProduct(inv_pb.CreateProductRequest(
                sku=sku, name="Widget", initial_stock=100000,
                price=pb("commerce.v1.money_pb2").Money(amount_minor=100, currency="EUR")),
                timeout=10)

            def order():
                return orders.CreateOrder(order_pb.CreateOrderRequest(
                    user_id=user, items=[order_pb.LineItem(sku=sku, quantity=1)],
                    payment_method=pay_pb.PaymentMethod(token="tok_approve")), timeout=10)

            confirmed, refused = [], 0
            for _ in range(3000):
                try:
                    confirmed.append(order().id)
                except grpc.RpcError as e:
                    # Answered, not held until the deadline; UNAVAILABLE naming the data dir.
                    self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
                    self.assertIn(self.dir, e.details())
                    refused += 1
                    if refused >= 10:
                        break
            self.assertGreater(len(confirmed), 10)
            self.assertEqual(refused, 10, "the log never filled up")
            self.assertIsNone(server.proc.poll(), "the server died at the file size limit")
            # Reads go on.
            got = orders.GetOrder(order_pb.GetOrderRequest(id=confirmed[0]), timeout=10)
            self.assertEqual(order_pb.OrderStatus.Name(got.status), "ORDER_STATUS_CONFIRMED")
            # Room again: orders are taken again (the log's writer retries by itself).
            resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            deadline = time.time() + 20
            while True:
                try:
                    self.assertTrue(order().id)
                    break
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
                    self.assertLess(time.time(), deadline, "orders did not resume")
                    time.sleep(0.2)
        finally:
            server.stop()


if __name__ == "__main__":
    SERVER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
