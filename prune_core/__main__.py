"""Entry point of ``python -m prune_core``."""

import os
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from prune_core.cli import main  # noqa: E402

sys.exit(main())
