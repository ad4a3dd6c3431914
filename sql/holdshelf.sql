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
-- The title and the barcode each come from their own one-row lookup (a subquery by primary
-- key) rather than a join: PostgreSQL, asked for every branch at once, otherwise hashes the
-- whole of copies, titles and patrons for some 15k shelf holds (0.9 s against 0.7 s on the
-- city); SQLite looks each row up either way. The patron is joined, once for both the card
-- and the name: two subqueries looked the same patron up twice (SQLite: a tenth of this
-- query), and PostgreSQL joins that one table row by row through its key, not by hashing
-- it (the city: lower in 4 of 4 alternate runs). A ready hold always has its copy (the join
-- required it), and every hold its patron.
--
-- Order: by deadline (a hold without one first, on both engines), then card number, then
-- hold number (a patron's holds in the order they were placed, the same on both engines).
SELECT h.pickup_branch_id AS branch_id, h.pickup_deadline,
       p.card_number AS card,
       p.name,
       (SELECT t.title FROM titles t WHERE t.id = h.title_id) AS title,
       (SELECT c.barcode FROM copies c WHERE c.id = h.copy_id) AS barcode,
       h.ready_on, h.id AS hold
FROM holds h
JOIN patrons p ON p.id = h.patron_id
WHERE h.status = 'ready'
  AND h.copy_id IS NOT NULL
  AND h.pickup_branch_id IN :branch_ids
ORDER BY CASE WHEN h.pickup_deadline IS NULL THEN 0 ELSE 1 END, h.pickup_deadline, card, h.id
