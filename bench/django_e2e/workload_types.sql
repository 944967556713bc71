-- Django-like writes to oauth2_provider (uuid), axes (inet) and waffle (numeric, M2M); :i is the round
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO "oauth2_provider_idtoken" ("jti", "expires", "scope", "created", "updated", "application_id", "user_id") VALUES (md5('live' || :i)::uuid, '28/02/2027 23:00:00.123456', 'openid profile', now(), now(), (SELECT id FROM oauth2_provider_application ORDER BY id OFFSET :i % 4 LIMIT 1), 2 + :i % 10) RETURNING "id";
INSERT INTO "oauth2_provider_accesstoken" ("token", "expires", "scope", "application_id", "user_id", "created", "updated", "source_refresh_token_id", "id_token_id") VALUES (md5('liveat' || :i), now() + interval '1 hour', 'read', (SELECT application_id FROM oauth2_provider_idtoken WHERE id = currval('oauth2_provider_idtoken_id_seq')), 2 + :i % 10, now(), now(), NULL, currval('oauth2_provider_idtoken_id_seq'));
INSERT INTO "oauth2_provider_refreshtoken" ("token", "access_token_id", "application_id", "user_id", "created", "updated", "revoked") VALUES (md5('livert' || :i), currval('oauth2_provider_accesstoken_id_seq'), (SELECT application_id FROM oauth2_provider_idtoken WHERE id = currval('oauth2_provider_idtoken_id_seq')), 2 + :i % 10, now(), now(), NULL);
COMMIT;
-- token refresh: revoke the old refresh token, rotate the uuid
UPDATE "oauth2_provider_refreshtoken" SET "revoked" = '01/03/2027 00:00:00 Europe/Berlin', "updated" = now() WHERE "id" = (SELECT min(id) FROM oauth2_provider_refreshtoken WHERE revoked IS NULL);
UPDATE "oauth2_provider_idtoken" SET "jti" = gen_random_uuid() WHERE "id" = 1 + :i % 40;
-- axes: IPv4 and IPv6, with netmasks
INSERT INTO "axes_accessattempt" ("user_agent", "ip_address", "username", "http_accept", "path_info", "attempt_time", "get_data", "post_data", "failures_since_start") VALUES ('curl/8', CASE WHEN :i % 2 = 0 THEN ('192.168.' || :i % 250 || '.7/24')::inet ELSE ('fe80::' || :i || '/64')::inet END, 'live' || :i, '*/*', '/admin/login/', '13/11/2026 08:09:10.000001', 'next=/', 'username=x', :i);
UPDATE "axes_accessattempt" SET "failures_since_start" = "failures_since_start" + 1, "ip_address" = ('::ffff:10.0.0.' || :i % 250)::inet WHERE "id" = 1 + :i % 50;
DELETE FROM "axes_accessattempt" WHERE "id" = 50 - :i % 50 AND :i % 4 = 0;
-- waffle: numeric percent, M2M
UPDATE "waffle_flag" SET "percent" = (:i % 999) / 10.0, "modified" = now() WHERE "id" = 1 + :i % 5;
INSERT INTO "waffle_flag_users" ("flag_id", "user_id") VALUES (1 + :i % 5, 100 + :i % 60) ON CONFLICT DO NOTHING;
DELETE FROM "waffle_flag_users" WHERE "flag_id" = 1 + (:i + 2) % 5 AND "user_id" < 100 + :i % 60 - 5;
