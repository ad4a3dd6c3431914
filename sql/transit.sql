-- transit.sql: 回送リスト, copies waiting at the branches for the van (report `transit`)
--
-- Every copy in transit that is still at one of the branches, with where it travels:
-- the pickup branch of the hold it travels for, or (no hold) its own branch, going home.
-- The report adds the slip line (回送票) from these columns.
--
-- Parameters
--   :branch_ids  the branches whose copies are listed (a list)
--
-- Columns (read by name: keep the names)
--   branch_id   the branch where the copy waits for the van
--   barcode     資料番号
--   title       書名
--   to          回送先, the branch the copy travels to (quoted: TO is an SQL word)
--   hold        予約番号 of the hold it travels for; empty when it goes home (返却)
--
-- Order: by destination, then barcode.
SELECT c.location_branch_id AS branch_id, c.barcode, t.title,
       COALESCE(to_pickup.name, home.name) AS "to", h.id AS hold
FROM copies c
JOIN titles t ON t.id = c.title_id
LEFT OUTER JOIN holds h ON h.copy_id = c.id AND h.status = 'in_transit'
LEFT OUTER JOIN branches to_pickup ON to_pickup.id = h.pickup_branch_id
JOIN branches home ON home.id = c.owning_branch_id
WHERE c.state = 'in_transit'
  AND c.location_branch_id IN :branch_ids
ORDER BY "to", c.barcode
