"""``python -m common_clients.codegen``: the ``common-clients`` command (see ``_cli``)."""

import sys

from common_clients.codegen._cli import main

sys.exit(main())
