"""Stock given back by cancels while inventory restarts (issue 15, the soak's seed 108: a SKU
2 units short with none reserved and no order to blame). On the five-process placement, each
process with its --data-dir, orders are CONFIRMED; then inventory is SIGKILLed, the orders are
cancelled while it is down, and it is started again from its data on its port. The cancel of a
confirmed order refunds the payment and gives the units back with AdjustStock, which is never
retried (a delta applied twice moves the stock twice): a return that failed at once because
inventory was down was lost, and only the order service's log said so. Every cancelled order's
units must be back in the stock once the cancels have answered.
Usage: stock_return_python_test.py PATH/TO/percore-server"""

import sys
import tempfile
import time
import unittest
import uuid

from percore_py.stubs import stub_module

from placement import Placement

SERVER = None
ORDERS = 6
STOCK = 100
DOWN_SECONDS = 1.5  # how long inventory stays down while the cancels run


class StockReturnWhileInventoryRestarts(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.TemporaryDirectory(prefix="percore-stock-return-")
        self.placement = Placement(SERVER, "five", 2, data_root=self.data.name)
        self.placement.start()

    def tearDown(self):
        self.placement.stop()
        self.data.cleanup()

    def test_cancelled_units_come_back_after_an_inventory_restart(self):
        user_pb, inv_pb = stub_module("user.v1.user_pb2"), stub_module("inventory.v1.inventory_pb2")
        order_pb, pay_pb = stub_module("order.v1.order_pb2"), stub_module("payment.v1.payment_pb2")
        money_pb = stub_module("commerce.v1.money_pb2")
        servers = self.placement.servers
        users = stub_module("user.v1.user_pb2_grpc").UserServiceStub(servers["user"].channel)
        orders = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(servers["order"].channel)

        def inventory():  # a restarted process has a new channel
            return stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
                servers["inventory"].channel)

        user = users.CreateUser(user_pb.CreateUserRequest(
            name="Buyer", email="buyer-%s@example.com" % uuid.uuid4().hex[:8]), timeout=10).id
        inventory().CreateProduct(inv_pb.CreateProductRequest(
            sku="returned", name="Returned", price=money_pb.Money(amount_minor=100, currency="EUR"),
            initial_stock=STOCK), timeout=10)
        confirmed = []
        for _ in range(ORDERS):
            order = orders.CreateOrder(order_pb.CreateOrderRequest(
                user_id=user, items=[order_pb.LineItem(sku="returned", quantity=2)],
                payment_method=pay_pb.PaymentMethod(token="tok_approve"),
                idempotency_key=uuid.uuid4().hex), timeout=30)
            self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CONFIRMED",
                             order.failure_reason)
            confirmed.append(order.id)
        self.assertEqual(inventory().GetProduct(inv_pb.GetProductRequest(sku="returned"),
                                                timeout=10).stock, STOCK - 2 * ORDERS)

        self.placement.kill("inventory")
        cancels = [orders.CancelOrder.future(order_pb.CancelOrderRequest(id=order_id), timeout=60)
                   for order_id in confirmed]
        time.sleep(DOWN_SECONDS)  # the refunds are made and the returns tried meanwhile
        self.placement.start_again("inventory")
        for order_id, cancel in zip(confirmed, cancels):
            order = cancel.result()
            self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CANCELLED",
                             order_id)
        product = inventory().GetProduct(inv_pb.GetProductRequest(sku="returned"), timeout=10)
        lost = [line for line in servers["order"].stderr_text().splitlines()
                if "cancelled, but" in line]
        print("stock %d, reserved %d after %d cancels" % (product.stock, product.reserved, ORDERS))
        self.assertEqual((product.stock, product.reserved), (STOCK, 0),
                         "the order service said: %s" % lost)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
