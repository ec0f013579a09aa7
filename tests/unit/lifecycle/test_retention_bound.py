"""The retention sweep reads exactly the reference days up to latest_reference_due."""

from __future__ import annotations

from datetime import date, timedelta

from vault.lifecycle.retention import (
    NOTICE_MONTHS,
    add_months,
    add_years,
    latest_reference_due,
    notice_day,
)


def due(reference: date, today: date, years: int) -> bool:
    # The rule in its own words: a notice when today reaches the deletion day less NOTICE_MONTHS.
    return today >= add_months(add_years(reference, years), -NOTICE_MONTHS)


def test_the_bound_is_exactly_the_last_reference_day_due() -> None:
    # Every day of four years (month ends, 29 February) as "today", and the
    # reference days around the bound, for the allowed retention lengths:
    # every day up to it is due (none is missed), none after it is (none is
    # read for nothing).
    for years in (1, 3, 30):
        today = date(2026, 1, 1)
        while today < date(2030, 1, 1):
            bound = latest_reference_due(today, years)
            for shift in range(0, 40):
                assert due(bound - timedelta(days=shift), today, years)
                assert not due(bound + timedelta(days=shift + 1), today, years)
            today += timedelta(days=1)


def test_notice_day_is_the_first_day_due() -> None:
    reference = date(2024, 5, 31)
    first = notice_day(reference, 3)
    assert first == date(2027, 2, 28)
    assert due(reference, first, 3) and not due(reference, first - timedelta(days=1), 3)
