-- Data for the Django project of bench/django_end_to_end.sh, written under the
-- database's hostile defaults (DateStyle 'SQL, DMY', TimeZone Pacific/Chatham):
-- literals are DMY, offsets odd, text with tabs, quotes, non-ASCII, TOASTed
-- bodies, bytea, circular deferred foreign keys (thread <-> starting email).
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO auth_group (name) SELECT 'group ' || g FROM generate_series(1, 5) g;
INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT 'pbkdf2_sha256$260000$salt$' || md5(i::text), CASE WHEN i % 7 <> 0 THEN timestamptz '2024-03-31 02:30:00+02' + i * interval '17 hours 3.123456 seconds' END,
       i = 1, 'user' || i, 'Fírst' || i, 'Läst''' || i, 'user' || i || '@example.org', i < 5, i % 11 <> 0,
       timestamptz '2019-01-01 00:00:00 UTC' + i * interval '1 day 0.000001 s'
  FROM generate_series(1, 200) i ON CONFLICT DO NOTHING;
INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, 1 + u.id % 5 FROM auth_user u;
INSERT INTO auth_user_user_permissions (user_id, permission_id) SELECT u.id, p.id FROM auth_user u, auth_permission p WHERE u.id <= 3 AND p.id % 5 = 0;
INSERT INTO auth_group_permissions (group_id, permission_id) SELECT g.id, p.id FROM auth_group g, auth_permission p WHERE p.id % 9 = g.id % 9;
INSERT INTO django_mailman3_profile (timezone, user_id) SELECT (ARRAY['Europe/Paris','Asia/Kolkata','America/St_Johns'])[1 + id % 3], id FROM auth_user ON CONFLICT DO NOTHING;
INSERT INTO django_mailman3_maildomain (mail_domain, site_id) VALUES ('lists.example.org', 1);
-- HyperKitty
INSERT INTO hyperkitty_mailinglist (name, display_name, description, subject_prefix, archive_policy, created_at, list_id, archive_rendering_mode)
SELECT 'list' || i || '@lists.example.org', 'List ' || i, CASE WHEN i <> 3 THEN E'Description\twith tab and ünïcode ' || i END, '[list' || i || '] ', i % 3,
       timestamptz '2015-06-30 23:59:59.999999+00' + i * interval '3 months', 'list' || i || '.lists.example.org', CASE WHEN i % 2 = 0 THEN 'markdown' ELSE 'text' END
  FROM generate_series(1, 5) i;
INSERT INTO hyperkitty_mailinglist_owners (mailinglist_id, user_id) SELECT m.id, 1 + m.id FROM hyperkitty_mailinglist m;
INSERT INTO hyperkitty_mailinglist_moderators (mailinglist_id, user_id) SELECT m.id, u FROM hyperkitty_mailinglist m, generate_series(10, 12) u;
INSERT INTO hyperkitty_sender (address, mailman_id) SELECT 'user' || i || '@example.org', CASE WHEN i % 4 <> 0 THEN md5(i::text) END FROM generate_series(1, 150) i;
INSERT INTO hyperkitty_threadcategory (name, color) VALUES ('question', '#ff0000'), ('agreed', '#00ff00'), ('unanswered', '#0000ff');
INSERT INTO hyperkitty_thread (thread_id, date_active, category_id, mailinglist_id, starting_email_id)
SELECT upper(md5('t' || i)), timestamptz '2020-02-29 12:00:00+05:30' + i * interval '1 hour 1.5 s', CASE WHEN i % 4 > 0 THEN i % 4 END, 1 + i % 5, NULL
  FROM generate_series(1, 300) i ON CONFLICT DO NOTHING;
INSERT INTO hyperkitty_email (message_id, message_id_hash, subject, content, date, timezone, in_reply_to, archived_date, thread_depth, thread_order, mailinglist_id, parent_id, sender_id, thread_id, sender_name)
SELECT '<msg' || i || '@example.org>', upper(md5('m' || i)), 'Re: subject ' || (i % 300) || ' — ünicode ✓',
       repeat(E'line of mail body\n', 1 + i % 50) || CASE WHEN i % 97 = 0 THEN repeat('x', 9000) ELSE '' END,
       timestamptz '2020-02-29 12:00:00+05:30' + i * interval '37 minutes 0.25 s', (i % 25) * 60 - 720,
       CASE WHEN i > 300 THEN '<msg' || (i - 300) || '@example.org>' END,
       timestamptz '2020-03-01 00:00:00+00' + i * interval '38 minutes', i / 300, i / 300, 1 + ((i - 1) % 300 + 1) % 5,
       NULL, 'user' || (1 + i % 150) || '@example.org', (i - 1) % 300 + 1, CASE WHEN i % 3 <> 0 THEN 'Sender ' || i END
  FROM generate_series(1, 2000) i;
UPDATE hyperkitty_email e SET parent_id = p.id FROM hyperkitty_email p WHERE e.in_reply_to = p.message_id;
UPDATE hyperkitty_thread t SET starting_email_id = e.id FROM hyperkitty_email e WHERE e.thread_id = t.id AND e.thread_order = 0;
INSERT INTO hyperkitty_attachment (counter, name, content_type, encoding, size, content, email_id)
SELECT 1, 'file' || i || '.bin', 'application/octet-stream', CASE WHEN i % 2 = 0 THEN 'base64' END, 256 * (1 + i % 40),
       decode(repeat(lpad(to_hex(i % 256), 2, '0') || '00ff5c27', 51 * (1 + i % 40)), 'hex'), i * 10
  FROM generate_series(1, 200) i ON CONFLICT DO NOTHING;
INSERT INTO hyperkitty_vote (value, email_id, user_id) SELECT CASE WHEN i % 3 = 0 THEN -1 ELSE 1 END, 1 + i % 2000, 1 + i % 200 FROM generate_series(1, 600) i ON CONFLICT DO NOTHING;
INSERT INTO hyperkitty_favorite (thread_id, user_id) SELECT 1 + i % 300, 1 + i % 200 FROM generate_series(1, 300) i ON CONFLICT DO NOTHING;
INSERT INTO hyperkitty_lastview (view_date, thread_id, user_id) SELECT timestamptz '2023-10-29 01:30:00 Europe/London' + i * interval '1 min', 1 + i % 300, 1 + i % 200 FROM generate_series(1, 400) i ON CONFLICT DO NOTHING;
INSERT INTO hyperkitty_tag (name) SELECT 'tag' || i FROM generate_series(1, 10) i;
INSERT INTO hyperkitty_tagging (tag_id, thread_id, user_id) SELECT 1 + i % 10, 1 + i % 300, 1 + i % 200 FROM generate_series(1, 200) i ON CONFLICT DO NOTHING;
INSERT INTO hyperkitty_profile (karma, user_id) SELECT id % 17 - 8, id FROM auth_user ON CONFLICT DO NOTHING;
-- generic relations: taggit, reversion, guardian, admin log
INSERT INTO taggit_tag (name, slug) SELECT 'Tåg ' || i, 'tag-' || i FROM generate_series(1, 20) i;
INSERT INTO taggit_taggeditem (object_id, content_type_id, tag_id)
SELECT 1 + i % 300, (SELECT id FROM django_content_type WHERE app_label = CASE WHEN i % 3 = 0 THEN 'auth' ELSE 'hyperkitty' END AND model = CASE WHEN i % 3 = 0 THEN 'user' ELSE 'thread' END), 1 + i % 20
  FROM generate_series(1, 500) i ON CONFLICT DO NOTHING;
INSERT INTO reversion_revision (date_created, comment, user_id) SELECT timestamptz '2022-01-01 00:00+00' + i * interval '1 day', 'rev ' || i, 1 + i % 200 FROM generate_series(1, 100) i;
INSERT INTO reversion_version (object_id, format, serialized_data, object_repr, content_type_id, revision_id, db)
SELECT (1 + i % 5)::text, 'json', '[{"model": "hyperkitty.mailinglist", "pk": ' || (1 + i % 5) || ', "fields": {"created_at": "2015-09-30T23:59:59.999Z"}}]',
       'list', (SELECT id FROM django_content_type WHERE app_label = 'hyperkitty' AND model = 'mailinglist'), r.id, 'default'
  FROM reversion_revision r, generate_series(1, 2) i;
INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
SELECT m.id::text, ct.id, p.id, 10 + m.id FROM hyperkitty_mailinglist m, django_content_type ct JOIN auth_permission p ON p.content_type_id = ct.id
 WHERE ct.app_label = 'hyperkitty' AND ct.model = 'mailinglist';
INSERT INTO django_admin_log (action_time, object_id, object_repr, action_flag, change_message, content_type_id, user_id)
SELECT timestamptz '2024-01-01 00:00+00' + i * interval '5 min', (1 + i % 300)::text, 'thread ' || i, 1 + i % 3, '[{"changed": {"fields": ["Category"]}}]',
       (SELECT id FROM django_content_type WHERE app_label = 'hyperkitty' AND model = CASE WHEN i % 2 = 0 THEN 'thread' ELSE 'email' END), 1
  FROM generate_series(1, 150) i;
-- other apps: uuid, inet, numeric, M2M
INSERT INTO oauth2_provider_application (client_id, redirect_uris, client_type, authorization_grant_type, client_secret, name, user_id, skip_authorization, created, updated, algorithm)
SELECT 'client' || i, 'https://app' || i || '.example.org/cb', 'confidential', 'authorization-code', md5('s' || i), 'App ' || i, i, false, now(), now(), '' FROM generate_series(1, 5) i;
INSERT INTO oauth2_provider_idtoken (jti, expires, scope, created, updated, application_id, user_id)
SELECT md5('j' || i)::uuid, now() + interval '1 hour', 'openid', now(), now(), 1 + i % 5, 1 + i % 200 FROM generate_series(1, 50) i;
INSERT INTO axes_accessattempt (user_agent, ip_address, username, http_accept, path_info, attempt_time, get_data, post_data, failures_since_start)
SELECT 'Mozilla/5.0', CASE WHEN i % 2 = 0 THEN ('10.0.' || i || '.1')::inet ELSE ('2001:db8::' || to_hex(i))::inet END, 'user' || i, '*/*', '/login/', now() - i * interval '1 min', '', '', i FROM generate_series(1, 50) i;
INSERT INTO waffle_flag (name, everyone, percent, testing, superusers, staff, authenticated, languages, rollout, note, created, modified)
SELECT 'flag' || i, NULL, i * 10.5, false, true, false, false, '', false, '', now(), now() FROM generate_series(1, 5) i;
INSERT INTO waffle_flag_users (flag_id, user_id) SELECT f.id, u FROM waffle_flag f, generate_series(1, 4) u;
INSERT INTO django_session (session_key, session_data, expire_date) SELECT md5('k' || i), 'e30:1', now() + i * interval '1 day' FROM generate_series(1, 100) i;
INSERT INTO oauth2_provider_accesstoken (token, expires, scope, application_id, user_id, created, updated, source_refresh_token_id, id_token_id)
SELECT md5('at' || i), '31/01/2027 10:00:00.5', 'read write', 1 + i % 5, 1 + i % 200, now(), now(), NULL, t.id FROM generate_series(1, 40) i JOIN oauth2_provider_idtoken t ON t.id = i;
INSERT INTO oauth2_provider_refreshtoken (token, access_token_id, application_id, user_id, created, updated, revoked)
SELECT md5('rt' || a.id), a.id, a.application_id, a.user_id, now(), now(), CASE WHEN a.id % 3 = 0 THEN now() END FROM oauth2_provider_accesstoken a;
INSERT INTO oauth2_provider_grant (code, expires, redirect_uri, scope, application_id, user_id, created, updated, code_challenge, code_challenge_method, nonce, claims)
SELECT md5('g' || i), now() + interval '10 min', 'https://x/cb', 'openid', 1 + i % 5, 1 + i % 200, now(), now(), '', '', '', '{"a": 1}' FROM generate_series(1, 20) i;
COMMIT;
ANALYZE;
