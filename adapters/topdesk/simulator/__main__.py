"""``python -m adapters.topdesk.simulator``: the project's logging, then the simulator."""

from workers.logging import configure_logging

from . import main

configure_logging()
raise SystemExit(main())
