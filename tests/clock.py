"""Which day it is, counted as the app counts it, never in the machine's zone.

`date.today()` is the day where the machine stands; the app counts in two
ways, and near midnight the three differ (the CI machine runs in UTC, a
developer's laptop in Paris, a server anywhere):

- the services' day is UTC's (`utcnow().date()`): retention runs, counsellor
  access after release, shares;
- the pages' day is the interface's (Europe/Paris, Babel's default time zone):
  release dates, expiry states on checklists.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from vault.models.base import utcnow

INTERFACE_ZONE = ZoneInfo("Europe/Paris")


def utc_today() -> date:
    """The services' day."""
    return utcnow().date()


def local_today() -> date:
    """The pages' day (the interface's time zone)."""
    return datetime.now(INTERFACE_ZONE).date()
