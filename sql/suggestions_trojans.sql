-- suggest_domains() and apply_suggestions() read Django's tables wherever
-- they are; whoever creates a relation of that name must not get code run
-- with the rights of the superuser or administrator who asks for
-- suggestions.  Each trojan below raises a WARNING and tries to make its
-- owner a superuser: no WARNING may appear, and the owner stays powerless.
-- The reports and analyze_statements() do not run it either.
\set VERBOSITY terse

CREATE ROLE regress_trojan_owner;
CREATE ROLE regress_trojan_admin IN ROLE migration_split_admin;
CREATE SCHEMA trojan_view AUTHORIZATION regress_trojan_owner;
CREATE SCHEMA trojan_rls AUTHORIZATION regress_trojan_owner;
CREATE SCHEMA trojan_cast AUTHORIZATION regress_trojan_owner;
-- the honest migration history names app shop
CREATE TABLE django_migrations (app varchar(255));
INSERT INTO django_migrations VALUES ('shop');
GRANT SELECT ON django_migrations TO PUBLIC;
CREATE TABLE shop_item (id int);

SET ROLE regress_trojan_owner;
CREATE FUNCTION trojan_view.evil() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RAISE WARNING 'trojan code ran as %', current_user;
	BEGIN
		ALTER ROLE regress_trojan_owner SUPERUSER;
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	RETURN 'shop';
END
$$;
GRANT USAGE ON SCHEMA trojan_view, trojan_rls, trojan_cast TO PUBLIC;
-- a view whose column calls the trojan
CREATE VIEW trojan_view.django_content_type AS
	SELECT trojan_view.evil() AS app_label, 'item'::text AS model;
GRANT SELECT ON trojan_view.django_content_type TO PUBLIC;
-- a table whose row level security policy calls it
CREATE TABLE trojan_rls.django_migrations (app text);
INSERT INTO trojan_rls.django_migrations VALUES ('shop');
ALTER TABLE trojan_rls.django_migrations ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON trojan_rls.django_migrations USING (trojan_view.evil() IS NOT NULL);
GRANT SELECT ON trojan_rls.django_migrations TO PUBLIC;
-- a column type whose cast to text calls it
CREATE TYPE trojan_cast.label AS ENUM ('shop');
CREATE FUNCTION trojan_cast.label_text(trojan_cast.label) RETURNS text
	LANGUAGE sql AS $$ SELECT trojan_view.evil() $$;
CREATE CAST (trojan_cast.label AS text) WITH FUNCTION trojan_cast.label_text(trojan_cast.label);
CREATE TABLE trojan_cast.django_content_type (app_label trojan_cast.label, model text);
INSERT INTO trojan_cast.django_content_type VALUES ('shop', 'item');
GRANT SELECT ON trojan_cast.django_content_type TO PUBLIC;
RESET ROLE;

-- as a superuser
SELECT * FROM migration_split.suggest_domains() WHERE rel = 'shop_item'::regclass;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_trojan_owner';

-- as a member of migration_split_admin that is no superuser
SET ROLE regress_trojan_admin;
SELECT * FROM migration_split.suggest_domains() WHERE rel = 'shop_item'::regclass;
BEGIN;
SELECT migration_split.apply_suggestions() > 0 AS tagged;
SELECT migration_split.table_domain('shop_item');
ROLLBACK;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_trojan_owner';

-- the reports read catalogs only
SET ROLE regress_trojan_admin;
SELECT count(*) >= 0 AS ok FROM migration_split.cross_domain_foreign_keys;
SELECT count(*) >= 0 AS ok FROM migration_split.cross_domain_dependencies;
SELECT count(*) >= 0 AS ok FROM migration_split.domain_summary;
SELECT count(*) >= 0 AS ok FROM migration_split.unowned_tables;
SELECT count(*) >= 0 AS ok FROM migration_split.relation_domains;
SELECT length(migration_split.boundary_graph()) > 0 AS ok;
RESET ROLE;

-- analyze_statements() parses and rewrites texts, it never runs them: the
-- owner's own query of its view runs the trojan (with the owner's rights),
-- the analysis of that text by a superuser does not
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SET ROLE regress_trojan_owner;
SELECT app_label FROM trojan_view.django_content_type;
SELECT count(*) FROM trojan_rls.django_migrations;
RESET ROLE;
SET client_min_messages = warning;
SELECT count(*) >= 0 AS ok FROM migration_split.analyze_statements();
RESET client_min_messages;
SELECT count(*) > 0 AS texts_seen FROM pg_stat_statements
 WHERE query LIKE '%trojan_view.django_content_type%';
DROP EXTENSION pg_stat_statements;

DROP TABLE shop_item, django_migrations;
DROP SCHEMA trojan_view, trojan_rls, trojan_cast CASCADE;
DROP ROLE regress_trojan_owner;
DROP ROLE regress_trojan_admin;
