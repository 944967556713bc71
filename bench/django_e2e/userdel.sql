-- Django deletes user :u: its own domain's rows; hyperkitty's rows go through the loose foreign keys' queue
\set ON_ERROR_STOP 1
BEGIN;
DELETE FROM auth_user_groups WHERE user_id = :u;
DELETE FROM auth_user_user_permissions WHERE user_id = :u;
DELETE FROM django_mailman3_profile WHERE user_id = :u;
UPDATE reversion_revision SET user_id = NULL WHERE user_id = :u;
DELETE FROM django_admin_log WHERE user_id = :u;
DELETE FROM guardian_userobjectpermission WHERE user_id = :u;
DELETE FROM waffle_flag_users WHERE user_id = :u;
DELETE FROM oauth2_provider_idtoken WHERE user_id = :u;
DELETE FROM oauth2_provider_application WHERE user_id = :u;
DELETE FROM auth_user WHERE id = :u;
COMMIT;
