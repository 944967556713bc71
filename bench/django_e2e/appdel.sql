-- Django's collector deleting OAuth application :a: its tokens, and the
-- access tokens of other applications that point at its ID tokens
\set ON_ERROR_STOP 1
BEGIN;
DELETE FROM "oauth2_provider_refreshtoken" WHERE "application_id" IN (:a)
    OR "access_token_id" IN (SELECT id FROM oauth2_provider_accesstoken WHERE application_id = :a
                                OR id_token_id IN (SELECT id FROM oauth2_provider_idtoken WHERE application_id = :a));
DELETE FROM "oauth2_provider_accesstoken" WHERE "application_id" IN (:a)
    OR "id_token_id" IN (SELECT id FROM oauth2_provider_idtoken WHERE application_id = :a);
DELETE FROM "oauth2_provider_grant" WHERE "application_id" IN (:a);
DELETE FROM "oauth2_provider_idtoken" WHERE "application_id" IN (:a);
DELETE FROM "oauth2_provider_application" WHERE "id" IN (:a);
COMMIT;
