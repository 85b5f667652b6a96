"""Products and their categories."""

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models


class Category(models.Model):
    """A category of products."""

    name = models.CharField(max_length=100)


class Product(models.Model):
    """A product with its stock."""

    name = models.CharField(max_length=100)
    category = models.ForeignKey(Category, null=True, on_delete=models.SET_NULL)
    stock = models.IntegerField(default=0)
    notes = GenericRelation("notes.Note")
