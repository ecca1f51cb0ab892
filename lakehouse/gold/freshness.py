"""The gold layer's service level: the day's star schema is ready by 06:00 UTC.

Declared as a Dagster freshness policy on every gold asset (``freshness_policy=`` of its decorator), so the UI shows each one's freshness state
(pass / fail) and the freshness daemon of ``dagster dev`` evaluates it. The daily schedule of the whole
graph runs shortly after midnight for the day that just ended; a gold asset not materialized between
00:00 and 06:00 UTC fails its policy until it is.
"""

from datetime import timedelta

import dagster as dg

GOLD_DEADLINE_CRON = "0 6 * * *"
"""06:00 UTC every day."""
GOLD_WINDOW = timedelta(hours=6)
"""How long before the deadline a materialization counts: from midnight UTC."""


def gold_freshness_policy() -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.cron(deadline_cron=GOLD_DEADLINE_CRON, lower_bound_delta=GOLD_WINDOW, timezone="UTC")

