-- phone.sql: 電話連絡リスト, patrons to phone today (report `phone`)
--
-- Holds ready at the branches for patrons who asked to be phoned, readied yesterday or
-- today: the calls since the last list; and their holds the night cancelled since
-- yesterday because the patron's not-needed-after date (有効期限) passed.
--
-- Parameters
--   :branch_ids  the pickup branches listed (a list)
--   :yesterday   the day before the report's day (a date)
--   :today       the report's day (a date)
--   :since       the start of yesterday (an instant)
--   :day_end     the end of the report's day (an instant)
--
-- Columns (read by name: keep the names)
--   branch_id        the pickup branch
--   card             利用者番号
--   name             氏名
--   phone            電話番号
--   title            書名
--   ready_on         用意日 (a date)
--   pickup_deadline  取置期限 (a date)
--   hold             予約番号 (not printed)
--   what             ready, or lapsed (not printed; the title says it)
--
-- Order: by card number, then hold.
SELECT h.pickup_branch_id AS branch_id, p.card_number AS card, p.name, p.phone, t.title,
       h.ready_on, h.pickup_deadline, h.id AS hold, 'ready' AS what
FROM holds h
JOIN titles t ON t.id = h.title_id
JOIN patrons p ON p.id = h.patron_id
WHERE h.status = 'ready'
  AND h.pickup_branch_id IN :branch_ids
  AND h.contact_method = 'phone'
  AND h.ready_on >= :yesterday AND h.ready_on <= :today
UNION ALL
SELECT h.pickup_branch_id AS branch_id, p.card_number AS card, p.name, p.phone, t.title,
       NULL AS ready_on, NULL AS pickup_deadline, h.id AS hold, 'lapsed' AS what
FROM holds h
JOIN titles t ON t.id = h.title_id
JOIN patrons p ON p.id = h.patron_id
WHERE h.status = 'cancelled'
  AND h.close_reason = 'not_needed_after'
  AND h.pickup_branch_id IN :branch_ids
  AND h.contact_method = 'phone'
  AND h.closed_at >= :since AND h.closed_at < :day_end
ORDER BY card, hold
