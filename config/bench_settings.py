"""The project's settings with the bench's two yardstick views mounted (`config.bench_urls`).

`make bench` serves the staff pages and the check-ins with these, so each figure and its
yardstick go through the same server, middleware and authentication.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "config.bench_urls"
