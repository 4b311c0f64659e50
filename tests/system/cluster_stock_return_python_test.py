"""The stock return of a cancelled order across a 3-partition cluster (issue 15, services/cluster):
the order saga on the user's partition returns a CONFIRMED order's units with ReturnReservation,
forwarded to the SKU's partition, which is killed and restarted on its --data-dir while the
cancel runs. That call asks to wait for its callee (wait_for_ready, as to a --peer): forwarded to
a member it now waits, within its deadline, for the member to be back, instead of failing
UNAVAILABLE at once and leaving the return to the background retry (compensation_pending). A
client's own call forwarded to a down partition still fails fast (cluster_faults_python).
Usage: cluster_stock_return_python_test.py PATH/TO/percore-server"""

import os
import sys
import tempfile
import time
import unittest
import uuid

import grpc

from percore_py.cluster import Cluster, OWNER_ONLY

from order_flow_support import load_messages, pb

SERVER = None
TIMEOUT = 30  # per call: a bound so that nothing hangs, not a claim about speed
P = 3
STOCK = 50
DOWN_SECONDS = 1.0  # how long the SKU's partition stays down while the cancel runs


class ClusterStockReturn(unittest.TestCase):
    def setUp(self):
        load_messages(self)
        self.dir = tempfile.TemporaryDirectory(prefix="percore-cluster-return-")
        self.cluster = Cluster(SERVER, P, member_flags=lambda i: [
            "--data-dir", os.path.join(self.dir.name, "p%d" % i), "--fsync", "always"])
        self.cluster.start()
        self.channels = [grpc.insecure_channel(a) for a in self.cluster.addresses]

    def tearDown(self):
        for c in self.channels:
            c.close()
        self.cluster.stop()
        self.dir.cleanup()

    def stub(self, module, name, member):
        return getattr(pb(module), name)(self.channels[member])

    def owned_by(self, member, call):
        """Whether `member` serves `call(member)` itself (a marked call: others refuse it)."""
        try:
            call(member)
            return True
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
            return False

    def test_a_return_to_a_restarting_partition_waits_for_it(self):
        users = self.stub("user.v1.user_pb2_grpc", "UserServiceStub", 0)
        orders = self.stub("order.v1.order_pb2_grpc", "OrderServiceStub", 0)
        inventory = [self.stub("inventory.v1.inventory_pb2_grpc", "InventoryServiceStub", m)
                     for m in range(P)]
        payments = [self.stub("payment.v1.payment_pb2_grpc", "PaymentServiceStub", m)
                     for m in range(P)]
        sku_partition = 2
        for _ in range(100):  # a SKU of partition 2 (created there with the mark)
            sku = "sku-" + uuid.uuid4().hex[:16]
            if self.owned_by(sku_partition, lambda m: inventory[m].CreateProduct(
                    self.inv_pb.CreateProductRequest(
                        sku=sku, name="Widget",
                        price=self.money_pb.Money(amount_minor=500, currency="USD"),
                        initial_stock=STOCK), timeout=TIMEOUT, metadata=OWNER_ONLY)):
                break
        for _ in range(100):  # a user whose orders (and sagas) live elsewhere
            tag = uuid.uuid4().hex[:12]
            user = users.CreateUser(self.user_pb.CreateUserRequest(
                name="Buyer", email=tag + "@example.com"), timeout=TIMEOUT).id
            if not self.owned_by(sku_partition, lambda m: self.stub(
                    "user.v1.user_pb2_grpc", "UserServiceStub", m).GetUser(
                        self.user_pb.GetUserRequest(id=user), timeout=TIMEOUT, metadata=OWNER_ONLY)):
                break
        sold = 0
        for _ in range(20):  # an order whose payment lives elsewhere too (its refund must work)
            order = orders.CreateOrder(self.order_pb.CreateOrderRequest(
                user_id=user, items=[self.order_pb.LineItem(sku=sku, quantity=2)],
                payment_method=self.pay_pb.PaymentMethod(token="tok_approve")), timeout=TIMEOUT)
            self.assertEqual(self.order_pb.OrderStatus.Name(order.status),
                             "ORDER_STATUS_CONFIRMED", order.failure_reason)
            sold += 2
            if not self.owned_by(sku_partition, lambda m: payments[m].GetPayment(
                    self.pay_pb.GetPaymentRequest(transaction_id=order.transaction_id),
                    timeout=TIMEOUT, metadata=OWNER_ONLY)):
                break

        self.cluster.kill(sku_partition)
        cancel = orders.CancelOrder.future(self.order_pb.CancelOrderRequest(id=order.id),
                                           timeout=TIMEOUT)
        time.sleep(DOWN_SECONDS)
        self.cluster.start_member(sku_partition)
        cancelled = cancel.result()
        self.assertEqual(self.order_pb.OrderStatus.Name(cancelled.status),
                         "ORDER_STATUS_CANCELLED")
        # Returned while the cancel waited: not left pending to the background retry.
        self.assertFalse(cancelled.compensation_pending, cancelled)
        product = inventory[0].GetProduct(self.inv_pb.GetProductRequest(sku=sku), timeout=TIMEOUT)
        self.assertEqual((product.stock, product.reserved), (STOCK - sold + 2, 0))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
