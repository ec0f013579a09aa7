"""The retention sweep reads only people whose reference day is at most latest_reference_due."""

from __future__ import annotations

from datetime import date, timedelta

from vault.lifecycle.retention import (
    NOTICE_MONTHS,
    add_months,
    add_years,
    latest_reference_due,
)


def due(reference: date, today: date, years: int) -> bool:
    # plan()'s own rule: a notice when today reaches the deletion day less NOTICE_MONTHS.
    return today >= add_months(add_years(reference, years), -NOTICE_MONTHS)


def test_every_reference_day_due_today_is_within_the_bound() -> None:
    # Every day of four years (month ends, 29 February) as "today", and the
    # reference days around the bound, for the allowed retention lengths.
    for years in (1, 3, 30):
        today = date(2026, 1, 1)
        while today < date(2030, 1, 1):
            bound = latest_reference_due(today, years)
            for shift in range(1, 40):
                assert not due(bound + timedelta(days=shift), today, years)
            today += timedelta(days=1)


def test_the_bound_is_close_to_the_exact_day() -> None:
    # A loose bound would be correct but read more rows: a week at most.
    today = date(2026, 12, 6)
    exact = max(d for d in (today - timedelta(days=k) for k in range(2000)) if due(d, today, 3))
    assert 0 <= (latest_reference_due(today, 3) - exact).days <= 7
