"""``python -m fastconc.bench`` (same as ``fastconc bench``)."""
import sys

from . import main

sys.exit(main())
