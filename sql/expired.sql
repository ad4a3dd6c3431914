-- expired.sql: 取置期限切れ資料(本日), copies of holds that expired at the branches today (report `expired`)
--
-- Staff clear these copies from the hold shelf. The report says where each goes next
-- (次の扱い) from the last six columns: still on the shelf for the next hold, to that
-- hold's pickup branch, back on the shelf, or home to its own branch.
--
-- Parameters
--   :branch_ids       the pickup branches listed (a list)
--   :day_start        the start of the library day (an instant, 00:00 library time)
--   :day_end          the start of the next day
--   :holds_with_copy  the statuses of a hold that has a copy bound to it (a list, from
--                     the program: allocated, in transit, ready)
--
-- Columns (read by name: keep the names)
--   branch_id         the pickup branch of the expired hold
--   barcode           資料番号
--   title             書名
--   expired_hold      予約番号 of the hold that expired
--   owning_branch_id  the copy's own branch
--   state             the copy's state now (on_hold_shelf while it is still on the shelf)
--   home              the name of the copy's own branch
--   next_hold         the hold the copy now serves, if any
--   next_status       that hold's status
--   next_pickup       that hold's pickup branch
--
-- Order: by barcode.
SELECT h.pickup_branch_id AS branch_id, c.barcode, t.title, h.id AS expired_hold,
       c.owning_branch_id, c.state, home.name AS home,
       nxt.id AS next_hold, nxt.status AS next_status, nxt_branch.name AS next_pickup
FROM holds h
JOIN copies c ON c.id = h.copy_id
JOIN titles t ON t.id = h.title_id
JOIN branches home ON home.id = c.owning_branch_id
LEFT OUTER JOIN holds nxt ON nxt.copy_id = c.id AND nxt.status IN :holds_with_copy
LEFT OUTER JOIN branches nxt_branch ON nxt_branch.id = nxt.pickup_branch_id
WHERE h.status = 'expired'
  AND h.closed_at >= :day_start AND h.closed_at < :day_end
  AND h.pickup_branch_id IN :branch_ids
ORDER BY c.barcode
