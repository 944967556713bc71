-- The static reports and the loose foreign keys under a reader's hostile
-- settings: standard_conforming_strings = off (a backslash in a plain
-- literal of a function body is then an escape), DateStyle 'SQL, DMY',
-- IntervalStyle sql_standard, extra_float_digits 0.  Each must give what
-- it gives with the defaults, without warnings.  A database of its own.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_settings;
\c regress_ms_settings
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;

SELECT migration_split.create_domain(d) FROM unnest(ARRAY['orders', 'users']) d;
CREATE TABLE users_user (id int PRIMARY KEY, born date, UNIQUE (id, born));
CREATE TABLE django_content_type (id int PRIMARY KEY, app_label text, model text);
CREATE TABLE orders_order (id int PRIMARY KEY, user_id int, user_born date,
	CONSTRAINT order_user_fkey FOREIGN KEY (user_id, user_born)
		REFERENCES users_user (id, born) ON DELETE SET NULL (user_born),
	target_content_type_id int REFERENCES django_content_type, target_object_id int);
SELECT migration_split.assign_table(t, d)
  FROM (VALUES ('users_user', 'users'), ('orders_order', 'orders')) v(t, d);
INSERT INTO django_content_type VALUES (1, 'users', 'user');
INSERT INTO users_user VALUES (1, '2001-02-03');
INSERT INTO orders_order VALUES (1, 1, '2001-02-03', 1, 1);
-- a trigger function with a backslash in a literal before its write
CREATE FUNCTION orders_touch_user() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE note text := 'C:\';
BEGIN
	INSERT INTO users_user VALUES (2, NULL);
	note := '\';
	RETURN NULL;
END $$;
CREATE TRIGGER orders_touch_user AFTER INSERT ON orders_order
	FOR EACH STATEMENT EXECUTE FUNCTION orders_touch_user();
-- one compiled with standard_conforming_strings off (its own SET): the
-- INSERT is inside a literal (with the setting on, it would be a
-- statement), and no write is made
SET check_function_bodies = off;
CREATE FUNCTION orders_no_write() RETURNS void LANGUAGE plpgsql
SET standard_conforming_strings = off SET escape_string_warning = off AS $$
DECLARE note text := 'it\'s; INSERT INTO users_user VALUES (3, NULL); ok'; -- '
BEGIN
	RAISE NOTICE '%', note;
END $$;
RESET check_function_bodies;
SELECT * FROM migration_split.function_writes('orders_touch_user()');
SELECT * FROM migration_split.function_writes('orders_no_write()');

SET standard_conforming_strings = off;
SET escape_string_warning = on;
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = sql_standard;
SET extra_float_digits = 0;

-- function bodies are read as they are compiled, whatever the reader set
SELECT * FROM migration_split.function_writes('orders_touch_user()');
SELECT * FROM migration_split.function_writes('orders_no_write()');
SELECT kind, from_object, to_object, detail FROM migration_split.cross_domain_dependencies;
SET standard_conforming_strings = on;
SELECT orders_no_write();
SET standard_conforming_strings = off;
-- a generic relation named <name>_content_type_id / <name>_object_id
SELECT from_table, type_column, id_column, to_table, rows
  FROM migration_split.cross_domain_generic_relations;
-- the domain graph's labels have two lines (a DOT \n)
SELECT migration_split.boundary_graph('dot', 'domain', 'orders');
-- the Markdown plan, and a cell with a backslash
SELECT migration_split.markdown_cell(E'a\\b|c');
SELECT detail FROM migration_split.extraction_plan('users', 'markdown');
-- a key with ON DELETE SET NULL (columns) is loosened and tightened
SELECT migration_split.loosen_foreign_key('orders_order', 'order_user_fkey', 'none');
SELECT options FROM migration_split.loose_foreign_key_definitions;
SELECT migration_split.tighten_foreign_key('orders_order', 'order_user_fkey');
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'order_user_fkey';
-- the plan's times are ISO 8601 whatever the reader's DateStyle (a plan
-- pasted into a ticket: 07/12/2026 is July or December), with the offset
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kathmandu';
CREATE TABLE orders_note (id int PRIMARY KEY, user_id int REFERENCES users_user);
SELECT migration_split.assign_table('orders_note', 'orders');
INSERT INTO users_user VALUES (3, '03/02/2001');
INSERT INTO orders_note VALUES (1, 3);
SELECT migration_split.loosen_foreign_key('orders_note', 'orders_note_user_id_fkey', 'cascade');
DELETE FROM users_user WHERE id = 3;
SELECT kind, object, regexp_replace(detail, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9.]+[+]05:45$', '<ISO time, +05:45>') AS detail
  FROM migration_split.extraction_plan('orders') WHERE kind = 'loose foreign key';
SELECT regexp_replace(detail, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9.]+[+]05:45 ', '<ISO time, +05:45> ') ~ '<ISO time, [+]05:45> [|]' AS markdown_iso
  FROM migration_split.extraction_plan('orders', 'markdown');
SELECT migration_split.process_loose_foreign_keys();
SELECT migration_split.tighten_foreign_key('orders_note', 'orders_note_user_id_fkey');
RESET TimeZone;

\c contrib_regression
DROP DATABASE regress_ms_settings;

-- A database whose default collation lowercases I to a dotless i (ICU,
-- Turkish): arguments are case-insensitive and names from upper-case
-- schemas or app labels make the same domain names as anywhere else.
CREATE DATABASE regress_ms_settings_tr TEMPLATE template0 ENCODING UTF8
	LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR' LOCALE 'C';
\c regress_ms_settings_tr
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;
SELECT pg_catalog.lower('INVOICE') AS lower_in_this_database;
SELECT migration_split.domain_name_from('INVOICE'), migration_split.domain_name_from('Billing_Items');
SELECT migration_split.create_domain('billing');
SELECT migration_split.boundary_graph('MERMAID', 'DOMAIN');
SELECT count(*) FROM migration_split.extraction_plan('billing', 'TABLE');
SELECT migration_split.boundary_graph(domain => 'BILLING');
-- a frozen table names every refused command the same here (the words
-- do not go through lower())
CREATE TABLE billing_fee (id int);
SELECT migration_split.assign_table('billing_fee', 'billing');
SELECT migration_split.set_domain_state('billing', 'copying');
SELECT migration_split.set_domain_state('billing', 'streaming');
SELECT migration_split.freeze_domain('billing', 'svc');
\set VERBOSITY terse
INSERT INTO billing_fee VALUES (1);
UPDATE billing_fee SET id = 2;
DELETE FROM billing_fee;
TRUNCATE billing_fee;
\set VERBOSITY default
\c contrib_regression
DROP DATABASE regress_ms_settings_tr;
