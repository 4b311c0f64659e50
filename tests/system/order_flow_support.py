"""What the order flow tests share (order_flow_python_test.py, order_faults_python_test.py):
the generated stubs and black-box helpers over them, against a placement of percore-server
processes (placement.py) started once per test class."""

import os
import tempfile
import uuid

import grpc

from percore_py.cluster import Cluster
from percore_py.stubs import stub_module

from placement import Placement

TIMEOUT = 30        # per call (a bound so that nothing hangs, not a claim about speed)
ORDER_TIMEOUT = 60  # CreateOrder: its payment step alone may take the service's payment budget
POLL_BOUND = 60     # seconds a poll waits for state to settle


def pb(name):
    return stub_module(name)


def load_messages(cls):
    """The commerce messages' modules as attributes of `cls` (also the cluster_*_python tests):
    user_pb, inv_pb, pay_pb, order_pb, money_pb."""
    cls.user_pb = pb("user.v1.user_pb2")
    cls.inv_pb = pb("inventory.v1.inventory_pb2")
    cls.pay_pb = pb("payment.v1.payment_pb2")
    cls.order_pb = pb("order.v1.order_pb2")
    cls.money_pb = pb("commerce.v1.money_pb2")


class FlowHelpers:
    """Black-box helpers over the generated stubs, against the processes of `placement` ("one"
    or "five", see placement.py) started once for the test class as `cluster`."""

    binary = None  # percore-server, set by the test's main
    placement = "five"
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = Placement(cls.binary, cls.placement)
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.make_stubs()

    @classmethod
    def make_stubs(cls):
        load_messages(cls)
        cls.users = pb("user.v1.user_pb2_grpc").UserServiceStub(cls.cluster.channel("user"))
        cls.inventory = pb("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            cls.cluster.channel("inventory"))
        cls.orders = pb("order.v1.order_pb2_grpc").OrderServiceStub(cls.cluster.channel("order"))
        pay_grpc = pb("payment.v1.payment_pb2_grpc")
        cls.payments = [pay_grpc.PaymentServiceStub(s.channel)
                        for s in cls.cluster.payment_servers()]

    def new_user(self):
        tag = uuid.uuid4().hex[:12]
        user = self.users.CreateUser(
            self.user_pb.CreateUserRequest(name="Buyer " + tag, email=tag + "@example.com"),
            timeout=TIMEOUT)
        return user.id

    def new_product(self, stock, price_minor=1250, currency="USD"):
        sku = "sku-" + uuid.uuid4().hex[:16]
        self.inventory.CreateProduct(self.inv_pb.CreateProductRequest(
            sku=sku, name="Widget " + sku,
            price=self.money_pb.Money(amount_minor=price_minor, currency=currency),
            initial_stock=stock), timeout=TIMEOUT)
        return sku

    def product(self, sku):
        return self.inventory.GetProduct(self.inv_pb.GetProductRequest(sku=sku), timeout=TIMEOUT)

    def order_request(self, user_id, items, token, key=""):
        return self.order_pb.CreateOrderRequest(
            user_id=user_id,
            items=[self.order_pb.LineItem(sku=sku, quantity=qty) for sku, qty in items],
            payment_method=self.pay_pb.PaymentMethod(token=token), idempotency_key=key)

    def create_order(self, user_id, items, token, key=""):
        return self.orders.CreateOrder(self.order_request(user_id, items, token, key),
                                       timeout=ORDER_TIMEOUT)

    def get_order(self, order_id):
        return self.orders.GetOrder(self.order_pb.GetOrderRequest(id=order_id), timeout=TIMEOUT)

    def payment(self, transaction_id):
        """The payment from whichever replica has it (each replica keeps its own ledger)."""
        for stub in self.payments:
            try:
                return stub.GetPayment(
                    self.pay_pb.GetPaymentRequest(transaction_id=transaction_id), timeout=TIMEOUT)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
        return None

    def payment_holders(self, transaction_id):
        """Indexes in `payments` of the replicas that know the transaction (each replica keeps
        its own ledger); the others must answer NOT_FOUND."""
        holders = []
        for i, stub in enumerate(self.payments):
            try:
                stub.GetPayment(self.pay_pb.GetPaymentRequest(transaction_id=transaction_id),
                                timeout=TIMEOUT)
                holders.append(i)
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND)
        return holders

    def status_name(self, status):
        return self.order_pb.OrderStatus.Name(status)

    def assert_failed(self, order, failure_code):
        """The order ended FAILED with `failure_code` ("FAILURE_CODE_...")."""
        self.assertEqual(self.status_name(order.status), "ORDER_STATUS_FAILED", order)
        self.assertEqual(self.order_pb.FailureCode.Name(order.failure_code), failure_code)

    def assert_stock(self, sku, stock, reserved=0):
        p = self.product(sku)
        self.assertEqual((p.stock, p.reserved, p.available), (stock, reserved, stock - reserved),
                         "stock, reserved, available of " + sku)


def member_stubs(obj):
    """obj.users, obj.inventory, obj.payments and obj.orders: each service's stub on every one of
    obj.channels (a cluster's members, in order)."""
    obj.users = [pb("user.v1.user_pb2_grpc").UserServiceStub(c) for c in obj.channels]
    obj.inventory = [pb("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(c)
                     for c in obj.channels]
    obj.payments = [pb("payment.v1.payment_pb2_grpc").PaymentServiceStub(c) for c in obj.channels]
    obj.orders = [pb("order.v1.order_pb2_grpc").OrderServiceStub(c) for c in obj.channels]


def start_class_cluster(cls, server, partitions, flags=(), data_prefix=None):
    """For a test class: cls.cluster, `partitions` members with `flags` (each keeping its state in
    a temporary DIR/p<i> when `data_prefix` names one), started, cls.channels to each member, and
    the messages (load_messages) and stubs (member_stubs); all stopped, closed and removed at the
    class's end."""
    load_messages(cls)
    member_flags = None
    if data_prefix is not None:
        cls.dir = tempfile.TemporaryDirectory(prefix=data_prefix)
        cls.addClassCleanup(cls.dir.cleanup)
        member_flags = lambda i: ["--data-dir", os.path.join(cls.dir.name, "p%d" % i)]  # noqa
    cls.cluster = Cluster(server, partitions, flags=list(flags), member_flags=member_flags)
    cls.addClassCleanup(cls.cluster.stop)
    cls.cluster.start()
    cls.channels = [grpc.insecure_channel(a) for a in cls.cluster.addresses]
    for c in cls.channels:
        cls.addClassCleanup(c.close)
    member_stubs(cls)
