"""``python -m prune_core.jobs <job dir>``: the detached driver started by ``start_job``."""

import sys

from prune_core.jobs.driver import main

sys.exit(main())
