"""The monolith's own test suite (Django TestCases: run by pytest-django and by manage.py test)."""

from django.test import TestCase, TransactionTestCase

from bd_monolith.accounts.models import Customer
from bd_monolith.catalog.models import Product
from bd_monolith.loyalty.models import Points
from bd_monolith.orders.services import orders_of, place_order
from bd_monolith.reviews.models import Review
from bd_monolith.reviews.queries import reviewed_products


class FlowTests(TestCase):
    """Each test goes through one tie the report must find."""

    def setUp(self) -> None:
        self.ann = Customer.objects.create(name="ann")
        self.pen = Product.objects.create(name="pen", stock=10)
        Product.objects.create(name="ink", stock=5)

    def test_placing_an_order_takes_stock_and_ships_it(self) -> None:
        place_order(self.ann.pk, self.pen.pk, 3)
        self.pen.refresh_from_db()
        self.ann.refresh_from_db()
        assert (self.pen.stock, self.ann.shipped_orders) == (7, 1)

    def test_orders_of_a_customer_by_name(self) -> None:
        order = place_order(self.ann.pk, self.pen.pk, 1)
        assert orders_of("ann") == [order.pk]

    def test_reviewed_products(self) -> None:
        Review.objects.create(product=self.pen, author=self.ann, stars=5)
        assert reviewed_products() == ["pen"]

    def test_points_stand_alone(self) -> None:
        Points.objects.create(holder="ann", amount=3)
        assert Points.objects.get().amount == 3


class CommittedTests(TransactionTestCase):
    """A test whose writes commit: the runner empties every table after it (framework work)."""

    def test_points_are_committed(self) -> None:
        Points.objects.create(holder="bob", amount=1)
        assert Points.objects.count() == 1
