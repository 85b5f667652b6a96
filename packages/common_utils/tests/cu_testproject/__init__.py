"""A small Django project the common-utils tests run against: orders and billing, two databases."""
