-- summary_runs.sql: 夜間処理の結果 for the whole system (report `summary` without a branch), the runs
--
-- The day's batch runs (not dry runs), each with the steps it ran and their counts.
-- One row per step; a run that ran no step has one row with empty step columns.
--
-- Parameters
--   :day_start  the start of the library day (an instant, 00:00 library time)
--   :day_end    the start of the next day
--
-- Columns (read by name: keep the names)
--   run_id       the run (`ils batch runs`)
--   as_of        the time the run worked as of (an instant)
--   started_at   when it started and finished (instants: the report prints the seconds between)
--   finished_at
--   status       succeeded, failed, interrupted or running
--   message      the run's warning, if any
--   step         the step's name (accept, allocate, …)
--   counts       the step's counts as JSON ({"accepted": 12, "rejected_by_reason": {…}})
--
-- Order: by run, then by when each step started.
SELECT r.id AS run_id, r.as_of, r.started_at, r.finished_at, r.status, r.message,
       s.step, s.counts
FROM batch_runs r
LEFT OUTER JOIN batch_steps s ON s.run_id = r.id
WHERE NOT r.dry_run
  AND r.as_of >= :day_start AND r.as_of < :day_end
ORDER BY r.id, s.started_at
