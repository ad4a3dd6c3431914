"""Overdue (延滞): an open loan whose due date has passed, said once for Python and once for SQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

from ils.infra import schema


def is_overdue(due_on: dt.date, today: dt.date) -> bool:
    """An open loan due before `today` is overdue; one due today is not yet."""
    return due_on < today


def overdue_loans(today: dt.date) -> ColumnElement[bool]:
    """The loans overdue on `today`, as a condition on `schema.loans`: open, and due before it."""
    lo = schema.loans
    return and_(lo.c.returned_at.is_(None), lo.c.due_on < today)
