"""A small monolith with known ties, for the tests of ``manage.py boundaries``.

It configures nothing of Commons but ``"common_utils.django"`` in ``INSTALLED_APPS`` (and the
recording test runner). Its own tests are in ``flows.py`` (not collected by the common-utils
suite: the tests run them in a subprocess, under pytest and under Django's runner).
"""
