"""Stock held for orders that failed (issue 15, the soak's "units still reserved past the ttl"):
on the five-process placement, orders go on while the inventory process is frozen (SIGSTOP)
three times for 1.5 s. A ReserveStock that inventory was serving when it froze is finished after
SIGCONT, past the order's deadline for that step: the order service's call already ended
DEADLINE_EXCEEDED, so the answer (and the reservation id) is lost, and the order fails. The saga
must find that hold by the order's key and release it before the order ends: once every order is
final, nothing is reserved, long before the reservation's 60 s ttl would free it.
Usage: lost_reserve_python_test.py PATH/TO/percore-server"""

import sys
import tempfile
import threading
import unittest
import uuid

import grpc

from percore_py.stubs import stub_module

from placement import Placement

SERVER = None
FREEZES = 3


class LostReserveAnswers(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.TemporaryDirectory(prefix="percore-lost-reserve-")
        self.placement = Placement(SERVER, "five", 2, data_root=self.data.name)
        self.placement.start()

    def tearDown(self):
        self.placement.stop()
        self.data.cleanup()

    def test_failed_orders_hold_no_stock(self):
        user_pb, inv_pb = stub_module("user.v1.user_pb2"), stub_module("inventory.v1.inventory_pb2")
        order_pb, pay_pb = stub_module("order.v1.order_pb2"), stub_module("payment.v1.payment_pb2")
        money_pb = stub_module("commerce.v1.money_pb2")
        servers = self.placement.servers
        users = stub_module("user.v1.user_pb2_grpc").UserServiceStub(servers["user"].channel)
        inventory = stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            servers["inventory"].channel)
        orders = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(servers["order"].channel)
        user = users.CreateUser(user_pb.CreateUserRequest(
            name="Buyer", email="buyer-%s@example.com" % uuid.uuid4().hex[:8]), timeout=10).id
        stock = 1000000  # never the limit
        inventory.CreateProduct(inv_pb.CreateProductRequest(
            sku="held", name="Held", price=money_pb.Money(amount_minor=100, currency="EUR"),
            initial_stock=stock), timeout=10)

        stop = threading.Event()
        lock = threading.Lock()
        final = {}  # status name -> count
        problems = []

        def buyer():
            while not stop.is_set():
                request = order_pb.CreateOrderRequest(
                    user_id=user, items=[order_pb.LineItem(sku="held", quantity=1)],
                    payment_method=pay_pb.PaymentMethod(token="tok_approve"),
                    idempotency_key=uuid.uuid4().hex)
                try:
                    # Long enough for the saga to end: the answer is the final order.
                    order = orders.CreateOrder(request, timeout=60)
                except grpc.RpcError as e:
                    with lock:
                        problems.append("CreateOrder: %s %s" % (e.code(), e.details()))
                    continue
                name = order_pb.OrderStatus.Name(order.status)
                with lock:
                    final[name] = final.get(name, 0) + 1

        buyers = [threading.Thread(target=buyer) for _ in range(6)]
        for t in buyers:
            t.start()
        try:
            for _ in range(FREEZES):
                stop.wait(1.0)
                self.placement.freeze("inventory", 1.5)
            stop.wait(1.0)
        finally:
            stop.set()
            for t in buyers:
                t.join()
        self.assertEqual(problems, [])
        self.assertEqual(set(final) - {"ORDER_STATUS_CONFIRMED", "ORDER_STATUS_FAILED"}, set(),
                         final)
        # Every order is final and every call answered: nothing may stay reserved.
        product = inventory.GetProduct(inv_pb.GetProductRequest(sku="held"), timeout=10)
        print("orders %s; stock %d, reserved %d" % (final, product.stock, product.reserved))
        self.assertEqual(product.reserved, 0, "units held for orders that ended: %s" % final)
        self.assertEqual(product.stock, stock - final.get("ORDER_STATUS_CONFIRMED", 0))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
