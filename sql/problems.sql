-- problems.sql: 連絡不能リスト, the branches' patrons the library could not reach by mail (report `problems`)
--
-- Three kinds of trouble, one part each, in this order:
--   part 1  a notice since yesterday that could not be mailed at all (no address, or an
--           address the library does not send to); the report says which from `email`
--   part 2  a message since yesterday the mail server refused (failed) or did not
--           confirm (unconfirmed)
--   part 3  a registered address that bounced, until a later delivery to it clears it
--           (`ils mail bounces`)
--
-- Parameters
--   :branch_ids  the patrons' home branches listed (a list)
--   :since       the start of yesterday (an instant, 00:00 library time)
--   :day_end     the start of the day after the report's day
--
-- Columns (read by name: keep the names)
--   part        1, 2 or 3 as above
--   row_id      the notice event, outbox message or bounce (for the order only)
--   branch_id   the patron's home branch
--   card        利用者番号
--   name        氏名
--   email       メールアドレス: the patron's address (part 2: the address the message went to)
--   notice      お知らせ: the kind of notice or message (empty for a bounce of an unknown message)
--   state       part 2: failed or unconfirmed
--   code        part 3: the bounce's status code (e.g. 5.1.1)
--   detail      part 2: the server's last error; part 3: the bounce's diagnostic
--
-- Order: by part, then card number, then row_id.
SELECT 1 AS part, e.id AS row_id, p.home_branch_id AS branch_id, p.card_number AS card, p.name, p.email,
       e.kind AS notice, NULL AS state, NULL AS code, NULL AS detail
FROM notice_events e
JOIN patrons p ON p.id = e.patron_id
WHERE e.delivery = 'problem'
  AND p.home_branch_id IN :branch_ids
  AND e.occurred_at >= :since AND e.occurred_at < :day_end
UNION ALL
SELECT 2, o.id, p.home_branch_id, p.card_number, p.name, o.to_addr,
       o.kind, o.state, NULL, o.last_error
FROM mail_outbox o
JOIN patrons p ON p.id = o.patron_id
WHERE o.state IN ('failed', 'unconfirmed')
  AND p.home_branch_id IN :branch_ids
  AND (o.created_at >= :since OR o.sent_at >= :since)
UNION ALL
SELECT 3, b.id, p.home_branch_id, p.card_number, p.name, p.email,
       o.kind, NULL, b.status, b.diagnostic
FROM mail_bounces b
JOIN patrons p ON p.id = b.patron_id
LEFT OUTER JOIN mail_outbox o ON o.id = b.outbox_id
WHERE b.action = 'failed'
  AND b.cleared_at IS NULL
  AND lower(p.email) = b.address
  AND p.home_branch_id IN :branch_ids
ORDER BY part, card, row_id
