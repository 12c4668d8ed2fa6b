"""``python -m gateway.cli``: the ``dlp-gateway`` command."""

import sys

from gateway.cli import main

sys.exit(main())
