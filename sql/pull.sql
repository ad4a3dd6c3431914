-- pull.sql: 資料確保リスト, the pull list (report `pull`, and `ils pull list` at the counter)
--
-- Copies standing on the branches' shelves that are allocated to a hold: staff take
-- them off the shelf in this order and confirm each one (`ils pull confirm`).
--
-- Parameters
--   :branch_ids  the branches whose shelves are listed (a list: the night asks for all at once)
--
-- Columns (the report and the counter read them by these names: keep the names)
--   branch_id   the branch whose shelf the copy stands on (the report deals the rows out by it)
--   shelf_mark  請求記号, where the copy stands (may be empty)
--   barcode     資料番号
--   title       書名
--   pickup      受取館, the branch where the patron collects it
--   hold        予約番号
--   author      著者 (may be empty)
--   material_type, category  the title's material type and handling category: the report
--               names the shelf the copy stands on (配架場所) from them
--
-- Order: by shelf mark, copies without one first on both engines (PostgreSQL alone would
-- put NULL last), then by barcode.
SELECT c.location_branch_id AS branch_id, c.shelf_mark, c.barcode, t.title,
       b.name AS pickup, h.id AS hold, t.author, t.material_type, t.category
FROM holds h
JOIN copies c ON c.id = h.copy_id
JOIN titles t ON t.id = c.title_id
JOIN branches b ON b.id = h.pickup_branch_id
WHERE h.status = 'allocated'
  AND c.location_branch_id IN :branch_ids
ORDER BY CASE WHEN c.shelf_mark IS NULL THEN 0 ELSE 1 END, c.shelf_mark, c.barcode
