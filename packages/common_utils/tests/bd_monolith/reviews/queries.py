"""Questions about reviews that read catalog's table."""

from bd_monolith.catalog.models import Product
from bd_monolith.reviews.models import Review


def reviewed_products() -> list[str]:
    """Names of products with a review (a subquery on reviews' table)."""
    reviewed = Review.objects.values("product_id")
    return sorted(Product.objects.filter(pk__in=reviewed).values_list("name", flat=True))
