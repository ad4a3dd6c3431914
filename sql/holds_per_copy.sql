-- holds_per_copy.sql: 予約多数資料 / 複本購入検討リスト, titles whose active holds per loanable copy exceed a threshold (report `holds_per_copy`)
--
-- For acquisitions, library-wide (not per branch). No personal data.
--
-- Parameters
--   :threshold  list a title when its active holds exceed threshold × its loanable copies
--               (ils.toml [reports] holds_per_copy_threshold, default 5; `--threshold`)
--
-- Columns (read by name: keep the names)
--   title_id  the title's row (not printed: the expected wait is worked out for it)
--   bib_id    書誌番号
--   title     書名
--   author    著者
--   holds     予約数: active holds (waiting, 準備中, allocated, in transit, ready, suspended)
--   copies    貸出可能冊数: copies on the shelf, on loan, in transit or on a hold shelf (not
--             missing, long overdue or withdrawn)
--
-- A title with holds and no loanable copy at all is listed whatever the threshold.
-- The copies are counted for the held titles only, each through the copies' (title, state)
-- index, not by grouping every copy the library owns.
--
-- Order: titles without a loanable copy first, then by holds per copy, most first; then
-- by holds, most first, and by bib id.
SELECT q.title_id, t.bib_id, t.title, t.author, q.holds, q.copies
FROM (
    SELECT h.title_id, COUNT(*) AS holds,
           (SELECT COUNT(*) FROM copies c
            WHERE c.title_id = h.title_id AND c.state IN ('on_shelf', 'on_loan', 'in_transit', 'on_hold_shelf')) AS copies
    FROM holds h
    WHERE h.status IN ('waiting', 'series_waiting', 'allocated', 'in_transit', 'ready', 'suspended')
    GROUP BY h.title_id
) q
JOIN titles t ON t.id = q.title_id
WHERE q.holds > :threshold * q.copies
ORDER BY CASE WHEN q.copies = 0 THEN 0 ELSE 1 END, q.holds * 1.0 / CASE WHEN q.copies = 0 THEN 1 ELSE q.copies END DESC,
         q.holds DESC, t.bib_id
