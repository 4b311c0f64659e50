"""Stock given back by cancels while inventory restarts (issue 15, the soak's seed 108: a SKU
2 units short with none reserved and no order to blame). On the five-process placement, each
process with its --data-dir, orders are CONFIRMED; then inventory is SIGKILLed, the orders are
cancelled while it is down, and it is started again from its data on its port. The cancel of a
confirmed order refunds the payment and gives the units back. With AdjustStock, which is never
retried (a delta applied twice moves the stock twice), a return that failed because inventory
was down (or whose answer was lost) was lost, and only the order service's log said so. Now it
is ReturnReservation, idempotent, retried until done: past the cancel's attempts the order is
CANCELLED with compensation_pending and the return is retried in the background (also across
an order-process restart). Every cancelled order's units come back exactly once.
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

    def confirm_orders(self, count):
        """`count` CONFIRMED orders of 2 units each of the SKU "returned" (STOCK units)."""
        user_pb, inv_pb = stub_module("user.v1.user_pb2"), stub_module("inventory.v1.inventory_pb2")
        order_pb, pay_pb = stub_module("order.v1.order_pb2"), stub_module("payment.v1.payment_pb2")
        money_pb = stub_module("commerce.v1.money_pb2")
        self.order_pb, self.inv_pb = order_pb, inv_pb
        servers = self.placement.servers
        users = stub_module("user.v1.user_pb2_grpc").UserServiceStub(servers["user"].channel)
        orders = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(servers["order"].channel)
        user = users.CreateUser(user_pb.CreateUserRequest(
            name="Buyer", email="buyer-%s@example.com" % uuid.uuid4().hex[:8]), timeout=10).id
        self.inventory().CreateProduct(inv_pb.CreateProductRequest(
            sku="returned", name="Returned", price=money_pb.Money(amount_minor=100, currency="EUR"),
            initial_stock=STOCK), timeout=10)
        confirmed = []
        for _ in range(count):
            order = orders.CreateOrder(order_pb.CreateOrderRequest(
                user_id=user, items=[order_pb.LineItem(sku="returned", quantity=2)],
                payment_method=pay_pb.PaymentMethod(token="tok_approve"),
                idempotency_key=uuid.uuid4().hex), timeout=30)
            self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CONFIRMED",
                             order.failure_reason)
            confirmed.append(order.id)
        self.assertEqual(self.stock(), (STOCK - 2 * count, 0))
        return orders, confirmed

    def inventory(self):  # a restarted process has a new channel
        return stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            self.placement.servers["inventory"].channel)

    def stock(self):
        product = self.inventory().GetProduct(self.inv_pb.GetProductRequest(sku="returned"),
                                              timeout=10)
        return product.stock, product.reserved

    def wait_compensated(self, orders, order_ids, seconds=30):
        """Every order CANCELLED with no compensation pending (it is retried in the
        background), within `seconds`."""
        deadline = time.time() + seconds
        left = list(order_ids)
        while left and time.time() < deadline:
            got = [orders.GetOrder(self.order_pb.GetOrderRequest(id=i), timeout=10) for i in left]
            for order in got:
                self.assertEqual(self.order_pb.OrderStatus.Name(order.status),
                                 "ORDER_STATUS_CANCELLED", order.id)
            left = [o.id for o in got if o.compensation_pending]
            if left:
                time.sleep(0.2)
        self.assertEqual(left, [], "compensations still pending")

    def test_cancelled_units_come_back_after_an_inventory_restart(self):
        orders, confirmed = self.confirm_orders(ORDERS)
        order_pb = self.order_pb
        servers = self.placement.servers
        self.placement.kill("inventory")
        cancels = [orders.CancelOrder.future(order_pb.CancelOrderRequest(id=order_id), timeout=60)
                   for order_id in confirmed]
        time.sleep(DOWN_SECONDS)  # the refunds are made and the returns tried meanwhile
        self.placement.start_again("inventory")
        for order_id, cancel in zip(confirmed, cancels):
            order = cancel.result()
            self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CANCELLED",
                             order_id)
        self.wait_compensated(orders, confirmed)
        lost = [line for line in servers["order"].stderr_text().splitlines()
                if "cancelled, but" in line]
        stock = self.stock()
        print("stock %d, reserved %d after %d cancels" % (stock[0], stock[1], ORDERS))
        self.assertEqual(stock, (STOCK, 0), "the order service said: %s" % lost)

    def test_a_return_failing_past_its_attempts_is_pending_and_done_once_inventory_is_back(self):
        """Inventory stays down through every attempt of the cancels' stock returns (past the
        10 s an AdjustStock used to wait): the cancels answer CANCELLED with
        compensation_pending, and once inventory is back the background retry returns every
        unit exactly once and clears it."""
        orders, confirmed = self.confirm_orders(3)
        self.placement.kill("inventory")
        cancels = [orders.CancelOrder.future(self.order_pb.CancelOrderRequest(id=order_id),
                                             timeout=60) for order_id in confirmed]
        for order_id, cancel in zip(confirmed, cancels):
            order = cancel.result()
            self.assertEqual(self.order_pb.OrderStatus.Name(order.status),
                             "ORDER_STATUS_CANCELLED", order_id)
            self.assertTrue(order.compensation_pending, order)
        self.placement.start_again("inventory")
        self.wait_compensated(orders, confirmed)
        self.assertEqual(self.stock(), (STOCK, 0))

    def test_inventory_killed_in_the_middle_of_the_returns_loses_and_doubles_nothing(self):
        """Inventory is SIGKILLed while a burst of cancels returns stock (some returns placed,
        some decided, some applied, some answers lost) and restarted from its data: the saga asks
        again (the same return twice changes nothing), so the stock ends exactly where it was."""
        count = 12
        orders, confirmed = self.confirm_orders(count)
        cancels = [orders.CancelOrder.future(self.order_pb.CancelOrderRequest(id=order_id),
                                             timeout=60) for order_id in confirmed]
        deadline = time.time() + 10
        while self.stock()[0] == STOCK - 2 * count and time.time() < deadline:
            pass  # until the first return is applied: the others are on their way
        self.placement.kill("inventory")
        self.placement.start_again("inventory")
        for cancel in cancels:
            self.assertEqual(self.order_pb.OrderStatus.Name(cancel.result().status),
                             "ORDER_STATUS_CANCELLED")
        self.wait_compensated(orders, confirmed)
        self.assertEqual(self.stock(), (STOCK, 0))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
