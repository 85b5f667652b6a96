"""The Django project of the orders service (settings, URLs, WSGI and Celery apps)."""
