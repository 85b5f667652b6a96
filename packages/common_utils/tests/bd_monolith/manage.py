"""The fixture monolith's manage.py (the tests copy it next to the package, where it belongs)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bd_monolith.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
