"""A branch's lists of work for the day at the counter: the pull list."""

from __future__ import annotations

from ils.infra.context import Context
from ils.infra.sqlfiles import named_query


def pull_list(ctx: Context, branch_id: int) -> list[dict]:
    """資料確保リスト: copies on this branch's shelves bound to holds, by shelf mark.

    The printed report's query (sql/pull.sql, ils.reports.lists.pull_list) for one
    branch; the counter's table does not repeat the branch.
    """
    rows = ctx.conn.execute(named_query("pull", lists=("branch_ids",)), {"branch_ids": [branch_id]})
    return [{key: value for key, value in row._mapping.items() if key != "branch_id"} for row in rows]
