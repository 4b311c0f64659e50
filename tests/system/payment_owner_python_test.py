"""One approval per idempotency key across payment replicas (issue 15, the soak's seed 103: a
CONFIRMED order approved on both payment replicas). The order process reaches two payment
replicas (--peer payment=A,B), each with its own ledger. Here each replica is a stand-in (a
grpcio PaymentService in this test) that plays a replica killed right after its approval was
durable and before it answered: the first ProcessPayment of a key is recorded as APPROVED and
answered UNAVAILABLE with no response headers (what the order process sees when the replica
dies), and a later one of the key answers the recorded approval, as the replica restarted from
its data would. ProcessPayment is retried on UNAVAILABLE; a retry that reaches the other
replica is approved there too. Each order must end CONFIRMED with exactly one APPROVED record
across the replicas, the one whose transaction the order names.
Usage: payment_owner_python_test.py PATH/TO/percore-server"""

import sys
import threading
import unittest
import uuid
from concurrent import futures

import grpc

from percore_py.server import Server
from percore_py.stubs import stub_module

SERVER = None
ORDERS = 8


class DyingReplica:
    """A payment replica whose every first charge of a key is durable but never answered."""

    def __init__(self, name):
        self.name = name
        self.pay_pb = stub_module("payment.v1.payment_pb2")
        self.lock = threading.Lock()
        self.ledger = {}  # idempotency key -> PaymentResult
        self.calls = []  # (method, key), in arrival order
        grpc_module = stub_module("payment.v1.payment_pb2_grpc")
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        grpc_module.add_PaymentServiceServicer_to_server(self, self.server)
        self.address = "127.0.0.1:%d" % self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def ProcessPayment(self, request, context):
        key = request.idempotency_key
        with self.lock:
            self.calls.append(("ProcessPayment", key))
            first = key not in self.ledger
            if first:
                self.ledger[key] = self.pay_pb.PaymentResult(
                    status=self.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED,
                    transaction_id="tx-%s-%s" % (self.name, key), order_id=request.order_id,
                    amount=request.amount, idempotency_key=key)
            result = self.ledger[key]
        if first:
            context.abort(grpc.StatusCode.UNAVAILABLE,
                          "%s killed after its approval was durable" % self.name)
        return result

    def VoidPayment(self, request, context):
        key = request.idempotency_key
        with self.lock:
            self.calls.append(("VoidPayment", key))
            result = self.ledger.get(key)
            if result is None:
                result = self.pay_pb.PaymentResult(
                    status=self.pay_pb.PaymentResult.PAYMENT_STATUS_VOIDED, idempotency_key=key)
            elif result.status == self.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED:
                result.status = self.pay_pb.PaymentResult.PAYMENT_STATUS_REFUNDED
            self.ledger[key] = result
            return result

    def RefundPayment(self, request, context):
        with self.lock:
            self.calls.append(("RefundPayment", request.transaction_id))
            for result in self.ledger.values():
                if result.transaction_id == request.transaction_id:
                    result.status = self.pay_pb.PaymentResult.PAYMENT_STATUS_REFUNDED
                    return result
        context.abort(grpc.StatusCode.NOT_FOUND, "no transaction %s" % request.transaction_id)

    def GetPayment(self, request, context):
        with self.lock:
            result = self.ledger.get(request.idempotency_key)
        if result is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no payment under that key")
        return result

    def approved(self, key):
        with self.lock:
            result = self.ledger.get(key)
            return (result is not None
                    and result.status == self.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED)


class PaymentOwner(unittest.TestCase):
    def setUp(self):
        self.replicas = [DyingReplica("payment-%d" % i) for i in range(2)]
        self.stores = Server(SERVER, "--shards", "1", "--services", "user,inventory")
        self.order = Server(SERVER, "--shards", "2", "--services", "order",
                            "--peer", "user=" + self.stores.address,
                            "--peer", "inventory=" + self.stores.address,
                            "--peer", "payment=%s,%s" % tuple(r.address for r in self.replicas))

    def tearDown(self):
        self.order.stop()
        self.stores.stop()
        for replica in self.replicas:
            replica.server.stop(0)

    def test_a_charge_retried_after_its_replica_died_is_approved_once(self):
        user_pb, inv_pb = stub_module("user.v1.user_pb2"), stub_module("inventory.v1.inventory_pb2")
        order_pb, pay_pb = stub_module("order.v1.order_pb2"), stub_module("payment.v1.payment_pb2")
        money_pb = stub_module("commerce.v1.money_pb2")
        users = stub_module("user.v1.user_pb2_grpc").UserServiceStub(self.stores.channel)
        inventory = stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            self.stores.channel)
        orders = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(self.order.channel)
        user = users.CreateUser(user_pb.CreateUserRequest(
            name="Buyer", email="buyer-%s@example.com" % uuid.uuid4().hex[:8]), timeout=10).id
        inventory.CreateProduct(inv_pb.CreateProductRequest(
            sku="charged", name="Charged", price=money_pb.Money(amount_minor=250, currency="EUR"),
            initial_stock=100), timeout=10)
        for _ in range(ORDERS):  # one at a time: round_robin alternates the replicas per call
            order = orders.CreateOrder(order_pb.CreateOrderRequest(
                user_id=user, items=[order_pb.LineItem(sku="charged", quantity=1)],
                payment_method=pay_pb.PaymentMethod(token="tok_approve"),
                idempotency_key=uuid.uuid4().hex), timeout=30)
            approved = [r.name for r in self.replicas if r.approved(order.id)]
            tried = [(r.name, method) for r in self.replicas for method, key in r.calls
                     if key == order.id]
            self.assertEqual(order_pb.OrderStatus.Name(order.status), "ORDER_STATUS_CONFIRMED",
                             "%s; calls %s" % (order.failure_reason, tried))
            self.assertEqual(len(approved), 1,
                             "order %s approved on %s; calls %s" % (order.id, approved, tried))
            self.assertEqual(order.transaction_id, "tx-%s-%s" % (approved[0], order.id))
        product = inventory.GetProduct(inv_pb.GetProductRequest(sku="charged"), timeout=10)
        self.assertEqual((product.stock, product.reserved), (100 - ORDERS, 0))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
