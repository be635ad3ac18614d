"""``python -m odr_kg`` runs the ``odr-kg`` command."""

from __future__ import annotations

import sys

from odr_kg.cli import main

sys.exit(main())
