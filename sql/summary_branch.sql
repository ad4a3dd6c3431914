-- summary_branch.sql: 夜間処理の結果 for each branch (report `summary` with a branch)
--
-- The night's counts per branch, one row per branch and count that is not zero (the
-- report prints the zeros). The report prints each count under its words in
-- templates_reports/reports.toml ([summary.counts]), in this order:
--   accepted  holds asked for since midnight by web, mobile, OPAC or paper (not at the
--             counter), to be collected at the branch
--   pulled    copies on the branch's shelves allocated to holds: the rows of its pull
--             list (sql/pull.sql), counted by the program, not here: the night has read
--             them already for the pull list, and a second pass over the allocated holds
--             and their copies cost the city's reports a quarter of a second
--   ready     holds ready on the branch's hold shelf
--   expired   holds at the branch that expired today
--   waiting   holds to be collected at the branch still waiting for a copy
--
-- Parameters
--   :branch_ids  the branches counted (a list)
--   :day_start   the start of the library day (an instant, 00:00 library time)
--   :night_end   noon of that day: the requests the night accepted
--   :day_end     the start of the next day
--
-- The accepted count searches the index (created_at, channel, pickup_branch_id) for the day's
-- holds (migration 0012): before it, every hold of the library's history was read each night.
-- SQLite reads the B-tree alone; on PostgreSQL it is a BRIN (0013, docs/holds.md), and the
-- count reads the table pages whose range took a hold that day. The unary plus on
-- h.pickup_branch_id (the same number) keeps SQLite from counting through the pickup-branch
-- index instead, one lookup of the table per hold of every branch. PostgreSQL plans from its
-- statistics either way.
--
-- Columns (read by name: keep the names)
--   branch_id  the branch
--   what       which count (one of the four words above counted here)
--   count      件数
SELECT +h.pickup_branch_id AS branch_id, 'accepted' AS what, COUNT(*) AS count
FROM holds h
WHERE +h.pickup_branch_id IN :branch_ids
  AND h.created_at >= :day_start AND h.created_at < :night_end
  AND h.channel <> 'counter'
GROUP BY +h.pickup_branch_id
UNION ALL
SELECT h.pickup_branch_id, 'ready', COUNT(*)
FROM holds h
WHERE h.pickup_branch_id IN :branch_ids
  AND h.status = 'ready'
GROUP BY h.pickup_branch_id
UNION ALL
SELECT h.pickup_branch_id, 'expired', COUNT(*)
FROM holds h
WHERE h.pickup_branch_id IN :branch_ids
  AND h.status = 'expired'
  AND h.closed_at >= :day_start AND h.closed_at < :day_end
GROUP BY h.pickup_branch_id
UNION ALL
SELECT h.pickup_branch_id, 'waiting', COUNT(*)
FROM holds h
WHERE h.pickup_branch_id IN :branch_ids
  AND h.status IN ('waiting', 'series_waiting')
GROUP BY h.pickup_branch_id
