-- holdshelf.sql: 取置資料一覧, the holds waiting on the branches' hold shelves (report `holdshelf`)
--
-- Only the personal data the shelf needs: card number and name, no address or phone.
--
-- Parameters
--   :branch_ids  the pickup branches listed (a list)
--
-- Columns (read by name: keep the names)
--   branch_id        the pickup branch
--   pickup_deadline  取置期限, the last day the patron may collect it (a date)
--   card             利用者番号
--   name             氏名
--   title            書名
--   barcode          資料番号
--   ready_on         the day the copy was put on the shelf (a date; not printed)
--   hold             予約番号
--
-- Order: by deadline (a hold without one first, on both engines), then card number, then
-- hold number (a patron's holds in the order they were placed, the same on both engines).
SELECT h.pickup_branch_id AS branch_id, h.pickup_deadline, p.card_number AS card, p.name,
       t.title, c.barcode, h.ready_on, h.id AS hold
FROM holds h
JOIN copies c ON c.id = h.copy_id
JOIN titles t ON t.id = h.title_id
JOIN patrons p ON p.id = h.patron_id
WHERE h.status = 'ready'
  AND h.pickup_branch_id IN :branch_ids
ORDER BY CASE WHEN h.pickup_deadline IS NULL THEN 0 ELSE 1 END, h.pickup_deadline, p.card_number, h.id
