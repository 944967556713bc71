-- one round of the writes HyperKitty makes through the Django ORM (monolith); :i is the round number
\set ON_ERROR_STOP 1
-- a reply in an existing thread (Django: save() -> INSERT ... RETURNING; thread.date_active update)
BEGIN;
INSERT INTO "hyperkitty_email" ("message_id", "message_id_hash", "subject", "content", "date", "timezone", "in_reply_to", "archived_date", "thread_depth", "thread_order", "mailinglist_id", "parent_id", "sender_id", "thread_id", "sender_name")
SELECT '<live' || :i || '@example.org>', upper(md5('live' || :i)), 'Re: ça va? ' || :i, E'body\r\nwith CRLF and \\ backslash ' || :i,
       '31/12/2026 23:59:59.999999 +05:30', 330, e.message_id, '29/02/2028 12:00:00', 1, 1000 + :i, e.mailinglist_id, e.id, 'user' || (1 + :i % 150) || '@example.org', e.thread_id, NULL
  FROM hyperkitty_email e WHERE e.id = 1 + (:i * 7) % 2000 RETURNING "hyperkitty_email"."id";
UPDATE "hyperkitty_thread" SET "date_active" = '01/02/2027 03:04:05.678 America/St_Johns' WHERE "hyperkitty_thread"."id" = (SELECT thread_id FROM hyperkitty_email WHERE message_id = '<live' || :i || '@example.org>');
COMMIT;
-- a new thread: circular deferred foreign keys (thread.starting_email_id <-> email.thread_id)
BEGIN;
INSERT INTO "hyperkitty_thread" ("thread_id", "date_active", "category_id", "mailinglist_id", "starting_email_id") VALUES (upper(md5('newthread' || :i)), now(), NULL, 1 + :i % 5, NULL);
INSERT INTO "hyperkitty_email" ("message_id", "message_id_hash", "subject", "content", "date", "timezone", "in_reply_to", "archived_date", "thread_depth", "thread_order", "mailinglist_id", "parent_id", "sender_id", "thread_id", "sender_name")
VALUES ('<thread' || :i || '@example.org>', upper(md5('thread' || :i)), 'New thread ' || :i, repeat('long body ', 1000 + :i), now() - interval '1 day 2 hours', -150, NULL, now(), 0, 0, 1 + :i % 5, NULL, 'user1@example.org', currval('hyperkitty_thread_id_seq'), 'Ünïcøde Name');
UPDATE "hyperkitty_thread" SET "starting_email_id" = currval('hyperkitty_email_id_seq') WHERE "id" = currval('hyperkitty_thread_id_seq');
INSERT INTO "hyperkitty_attachment" ("counter", "name", "content_type", "encoding", "size", "content", "email_id") VALUES (1, 'patch' || :i || '.diff', 'text/x-diff', NULL, 4, '\x00ff5c27'::bytea, currval('hyperkitty_email_id_seq'));
COMMIT;
-- votes: update_or_create
UPDATE "hyperkitty_vote" SET "value" = -"value" WHERE "email_id" = 1 + (:i * 13) % 2000;
INSERT INTO "hyperkitty_vote" ("value", "email_id", "user_id") SELECT 1, id, 1 + (:i * 3) % 200 FROM hyperkitty_email WHERE id >= 1 + (:i * 17) % 2000 ORDER BY id LIMIT 1 ON CONFLICT DO NOTHING;
-- unchanged TOAST: change the subject of a mail with a large body
UPDATE "hyperkitty_email" SET "subject" = 'edited ' || :i WHERE "id" = (SELECT id FROM hyperkitty_email WHERE length(content) > 8000 ORDER BY id OFFSET (:i % 5) LIMIT 1);
-- M2M: moderators.add() / .remove()
INSERT INTO "hyperkitty_mailinglist_moderators" ("mailinglist_id", "user_id") VALUES (1 + :i % 5, 50 + :i % 150) ON CONFLICT DO NOTHING;
DELETE FROM "hyperkitty_mailinglist_moderators" WHERE "mailinglist_id" = 1 + (:i + 1) % 5 AND "user_id" IN (10 + :i % 3);
-- lastview: update_or_create with an aware datetime in another zone
UPDATE "hyperkitty_lastview" SET "view_date" = '15/08/2026 00:00:00.000001 Asia/Kolkata' WHERE "thread_id" = 1 + :i % 300;
-- the Django collector deleting one email: children first, in one transaction
BEGIN;
DELETE FROM "hyperkitty_attachment" WHERE "hyperkitty_attachment"."email_id" IN (SELECT id FROM hyperkitty_email WHERE id = 1500 + :i);
DELETE FROM "hyperkitty_vote" WHERE "hyperkitty_vote"."email_id" IN (1500 + :i);
UPDATE "hyperkitty_email" SET "parent_id" = NULL WHERE "hyperkitty_email"."parent_id" IN (1500 + :i);
UPDATE "hyperkitty_thread" SET "starting_email_id" = NULL WHERE "hyperkitty_thread"."starting_email_id" IN (1500 + :i);
DELETE FROM "hyperkitty_email" WHERE "hyperkitty_email"."id" IN (1500 + :i);
COMMIT;
-- sender's mailman_id set / cleared
UPDATE "hyperkitty_sender" SET "mailman_id" = CASE WHEN :i % 2 = 0 THEN NULL ELSE md5('mm' || :i) END WHERE "address" = 'user' || (1 + :i % 150) || '@example.org';
-- another domain's writes in the same transaction as a hyperkitty write
BEGIN;
UPDATE "auth_user" SET "last_login" = '05/06/2026 07:08:09' WHERE "id" = 1 + :i % 200;
UPDATE "hyperkitty_profile" SET "karma" = "karma" + 1 WHERE "user_id" = 1 + :i % 200;
COMMIT;
