-- summary_mail.sql: 夜間処理の結果 for the whole system (report `summary` without a branch), the mail
--
-- How many messages the mail server took without confirming: the summary warns about
-- them, whatever day they were sent (check the mail server's log).
--
-- Parameters: none.
--
-- Columns (read by name: keep the names)
--   unconfirmed  the number of such messages
SELECT COUNT(*) AS unconfirmed
FROM mail_outbox o
WHERE o.state = 'unconfirmed'
