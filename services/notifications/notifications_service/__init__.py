"""The notifications service's Django project; its Celery app loads with it."""

from notifications_service.celery import app as celery_app

__all__ = ["celery_app"]
