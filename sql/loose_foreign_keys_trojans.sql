-- Loose foreign keys and code of less privileged roles: a superuser runs
-- process_loose_foreign_keys() and loose_foreign_key_orphans() over tables
-- and types of a team role.  The team's code runs as the team (as under
-- PostgreSQL's own ON DELETE actions) and cannot take the caller's rights:
-- a trigger or a domain's CHECK that resets the role fails; a cast of the
-- team is never run by the orphan listing.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_loose_trojans;
\c regress_ms_loose_trojans
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;
CREATE ROLE regress_ms_lft_team;
GRANT CREATE ON SCHEMA public TO regress_ms_lft_team;
SELECT migration_split.create_domain('customers'), migration_split.create_domain('orders');

-- what a trojan reports when it runs: whether it got a superuser's rights
CREATE FUNCTION public.escaped() RETURNS text LANGUAGE sql AS $$
	SELECT 'superuser ' || r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
$$;

-- 1. a trigger of the referencing table's owner resets the role during
-- the clean-up
CREATE TABLE customer (id int PRIMARY KEY);
SET ROLE regress_ms_lft_team;
CREATE TABLE purchase (id int PRIMARY KEY, customer_id int);
CREATE FUNCTION public.reset_role_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RESET ROLE;
	RAISE NOTICE 'trigger escaped: %', public.escaped();
	RETURN OLD;
END
$$;
CREATE TRIGGER reset_role BEFORE DELETE ON purchase
	FOR EACH ROW EXECUTE FUNCTION public.reset_role_trigger();
RESET ROLE;
ALTER TABLE purchase ADD CONSTRAINT purchase_customer_id_fkey
	FOREIGN KEY (customer_id) REFERENCES customer;
SELECT migration_split.assign_table('customer', 'customers'), migration_split.assign_table('purchase', 'orders');
INSERT INTO customer VALUES (1), (2);
INSERT INTO purchase VALUES (1, 1), (2, 2);
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', 'cascade');
DELETE FROM customer WHERE id = 1;
SELECT migration_split.process_loose_foreign_keys();
SELECT current_user = session_user AS back_to_caller;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_ms_lft_team';
SELECT key FROM migration_split.loose_foreign_key_queue;
SELECT * FROM purchase ORDER BY id;
-- without the trojan, the same entry is cleaned up as the table's owner
DROP TRIGGER reset_role ON purchase;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM purchase ORDER BY id;
-- the function that switches to the owner is only for members of the
-- owning role (the team owns purchase)
CREATE ROLE regress_ms_lft_admin IN ROLE migration_split_admin;
SET ROLE regress_ms_lft_admin;
SELECT * FROM migration_split.run_as_table_owner('purchase', 'SELECT NULL::int[]', '{{1}}', '{23}', '{-1}', NULL);
RESET ROLE;
SET ROLE regress_ms_lft_team;
SELECT * FROM migration_split.run_as_table_owner('purchase', 'SELECT NULL::int[]', '{{1}}', '{23}', '{-1}', NULL);
RESET ROLE;
GRANT regress_ms_lft_team TO regress_ms_lft_admin;
SET ROLE regress_ms_lft_admin;
SELECT * FROM migration_split.run_as_table_owner('purchase', 'SELECT ARRAY[pg_catalog.count(*)::int, $2[1]] FROM public.purchase', '{{7}}', '{23}', '{-1}', NULL);
RESET ROLE;

-- 2. the referenced key is of a domain of the team whose CHECK resets the
-- role: it runs when the queued key is checked, as the referenced table's
-- owner
SET ROLE regress_ms_lft_team;
CREATE FUNCTION public.reset_role_check(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RESET ROLE;
	RAISE NOTICE 'check escaped: %', public.escaped();
	RETURN true;
END
$$;
CREATE DOMAIN public.account_key AS int;
CREATE TABLE account (id public.account_key PRIMARY KEY);
RESET ROLE;
CREATE TABLE account_note (id int PRIMARY KEY, account_id int REFERENCES account);
SELECT migration_split.assign_table('account', 'customers'), migration_split.assign_table('account_note', 'orders');
INSERT INTO account VALUES (1), (2);
INSERT INTO account_note VALUES (1, 1), (2, 2);
SELECT migration_split.loosen_foreign_key('account_note', 'account_note_account_id_fkey', 'cascade');
SET ROLE regress_ms_lft_team;
ALTER DOMAIN public.account_key ADD CONSTRAINT trojan CHECK (public.reset_role_check(VALUE)) NOT VALID;
DELETE FROM account WHERE id = 1;
RESET ROLE;
SELECT migration_split.process_loose_foreign_keys();
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_ms_lft_team';
SELECT key FROM migration_split.loose_foreign_key_queue;
ALTER DOMAIN public.account_key DROP CONSTRAINT trojan;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM account_note ORDER BY id;

-- 3. the referencing column is of an enum of the team with an implicit
-- cast to text (PostgreSQL accepts the foreign key through that cast):
-- listing orphans would call the cast as the caller, so it is refused
CREATE TABLE sku (code text PRIMARY KEY);
INSERT INTO sku VALUES ('a'), ('b');
SET ROLE regress_ms_lft_team;
CREATE TYPE public.sku_code AS ENUM ('a', 'b', 'c');
CREATE FUNCTION public.sku_code_text(public.sku_code) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'cast run: %', public.escaped();
	RETURN pg_catalog.format('%s', $1);
END
$$;
CREATE CAST (public.sku_code AS text) WITH FUNCTION public.sku_code_text(public.sku_code) AS IMPLICIT;
CREATE TABLE stock (id int PRIMARY KEY, code public.sku_code);
INSERT INTO stock VALUES (1, 'b'), (2, 'c');
RESET ROLE;
ALTER TABLE stock ADD CONSTRAINT stock_code_fkey FOREIGN KEY (code) REFERENCES sku NOT VALID;
SELECT migration_split.assign_table('sku', 'customers'), migration_split.assign_table('stock', 'orders');
SELECT migration_split.loosen_foreign_key('stock', 'stock_code_fkey', 'none');
SELECT * FROM migration_split.loose_foreign_key_orphans('stock', 'stock_code_fkey');
-- a key of an enum without casts needs none: listed
SET ROLE regress_ms_lft_team;
CREATE TYPE public.grade AS ENUM ('a', 'b', 'c');
RESET ROLE;
CREATE TABLE grade_def (code public.grade PRIMARY KEY);
INSERT INTO grade_def VALUES ('a'), ('b');
CREATE TABLE graded (id int PRIMARY KEY, code public.grade REFERENCES grade_def);
SELECT migration_split.assign_table('grade_def', 'customers'), migration_split.assign_table('graded', 'orders');
INSERT INTO graded VALUES (1, 'b');
SELECT migration_split.loosen_foreign_key('graded', 'graded_code_fkey', 'none');
INSERT INTO graded VALUES (2, 'c');
SELECT * FROM migration_split.loose_foreign_key_orphans('graded', 'graded_code_fkey');

-- 4. a clean-up that fails (here a trigger of the team's table) does not
-- hold back the others: a warning, its entries stay queued with their
-- error and are retried after the others
SET ROLE regress_ms_lft_team;
CREATE TABLE team_order (id int PRIMARY KEY, customer_id int);
CREATE FUNCTION public.refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'team_order rows are never deleted';
END
$$;
CREATE TRIGGER refuse_delete BEFORE DELETE ON team_order
	FOR EACH ROW EXECUTE FUNCTION public.refuse_delete();
RESET ROLE;
ALTER TABLE team_order ADD CONSTRAINT team_order_customer_id_fkey
	FOREIGN KEY (customer_id) REFERENCES customer;
CREATE TABLE shipment (id int PRIMARY KEY, customer_id int REFERENCES customer);
SELECT migration_split.assign_table('team_order', 'orders'), migration_split.assign_table('shipment', 'orders');
INSERT INTO customer VALUES (3), (4);
INSERT INTO team_order VALUES (1, 3);
INSERT INTO shipment VALUES (1, 3), (2, 4);
SELECT migration_split.loosen_foreign_key('team_order', 'team_order_customer_id_fkey', 'cascade');
SELECT migration_split.loosen_foreign_key('shipment', 'shipment_customer_id_fkey', 'cascade');
DELETE FROM customer WHERE id = 3;
DELETE FROM customer WHERE id = 4;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM shipment ORDER BY id;
SELECT rel, key, attempts, last_error FROM migration_split.loose_foreign_key_queue ORDER BY id;
SELECT constraint_name, pending, failing FROM migration_split.loose_foreign_keys ORDER BY 1;
DROP TRIGGER refuse_delete ON team_order;
SELECT migration_split.process_loose_foreign_keys();
SELECT count(*) AS queued FROM migration_split.loose_foreign_key_queue;

-- 5. orphans are looked for in the tables of the constraint only, as
-- PostgreSQL's foreign keys do: not in inheritance children of a plain
-- table (a key only in a child does not count; a foreign table child,
-- whose wrapper could run anything, is never read)
CREATE FOREIGN DATA WRAPPER regress_ms_lft_wrapper;
CREATE SERVER regress_ms_lft_server FOREIGN DATA WRAPPER regress_ms_lft_wrapper;
CREATE TABLE region (code int PRIMARY KEY);
CREATE TABLE region_extra () INHERITS (region);
CREATE FOREIGN TABLE region_remote () INHERITS (region) SERVER regress_ms_lft_server;
CREATE TABLE store (id int PRIMARY KEY, region_code int REFERENCES region);
CREATE TABLE store_extra () INHERITS (store);
SELECT migration_split.assign_table('region', 'customers'), migration_split.assign_table('store', 'orders');
INSERT INTO region VALUES (1);
INSERT INTO region_extra VALUES (2);
INSERT INTO store VALUES (1, 1);
SELECT migration_split.loosen_foreign_key('store', 'store_region_code_fkey', 'none');
INSERT INTO store VALUES (2, 2), (3, 3);
INSERT INTO store_extra VALUES (4, 4);
SELECT * FROM migration_split.loose_foreign_key_orphans('store', 'store_region_code_fkey');
SELECT migration_split.tighten_foreign_key('store', 'store_region_code_fkey');
DELETE FROM ONLY store WHERE id IN (2, 3);
SELECT * FROM migration_split.loose_foreign_key_orphans('store', 'store_region_code_fkey');
SELECT migration_split.tighten_foreign_key('store', 'store_region_code_fkey');

-- nor a foreign table partition of a partitioned referencing table
-- (attached once the foreign key is gone)
CREATE TABLE visit (id int, region_code int REFERENCES region) PARTITION BY RANGE (id);
CREATE TABLE visit_1 PARTITION OF visit FOR VALUES FROM (0) TO (10);
SELECT migration_split.assign_table('visit', 'orders');
SELECT migration_split.loosen_foreign_key('visit', 'visit_region_code_fkey', 'cascade');
CREATE FOREIGN TABLE visit_remote PARTITION OF visit FOR VALUES FROM (10) TO (20)
	SERVER regress_ms_lft_server;
SELECT * FROM migration_split.loose_foreign_key_orphans('visit', 'visit_region_code_fkey');

-- 6. the definition of a loose key written by hand (its owner may: it
-- owns both tables) cannot carry SQL for whoever tightens it: the options
-- are checked when written and again when tightened (a row that got in
-- without the check, here with the check disabled: it is ENABLE ALWAYS,
-- session_replication_role = replica does not skip it)
SET ROLE regress_ms_lft_team;
CREATE TABLE team_a (id int PRIMARY KEY);
CREATE TABLE team_b (id int PRIMARY KEY, a_id int);
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('team_b', 'team_b_a_id_fkey', 'team_a', '{a_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'none', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION; ALTER ROLE regress_ms_lft_team SUPERUSER');
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('team_b', 'team_b_a_id_fkey', 'team_a', '{a_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'none', '', ' ON UPDATE NO ACTION ON DELETE SET NULL ("a_id"", x", a_id) DEFERRABLE');
DELETE FROM migration_split.loose_foreign_key_definitions WHERE rel = 'team_b'::regclass;
RESET ROLE;
ALTER TABLE migration_split.loose_foreign_key_definitions DISABLE TRIGGER loose_foreign_key_check;
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('team_b', 'team_b_a_id_fkey', 'team_a', '{a_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'none', '', ' MATCH FULL; ALTER ROLE regress_ms_lft_team SUPERUSER');
ALTER TABLE migration_split.loose_foreign_key_definitions ENABLE ALWAYS TRIGGER loose_foreign_key_check;
SELECT migration_split.tighten_foreign_key('team_b', 'team_b_a_id_fkey');
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_ms_lft_team';

-- 7. the check that a key is gone sees every row of the referenced table,
-- as the RI triggers do: a policy of its owner, forced on the owner, does
-- not hide a key that exists (and its referencing rows stay)
SET ROLE regress_ms_lft_team;
CREATE TABLE member (id int PRIMARY KEY, hidden boolean NOT NULL DEFAULT false);
ALTER TABLE member ENABLE ROW LEVEL SECURITY;
ALTER TABLE member FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON member USING (NOT hidden);
RESET ROLE;
CREATE TABLE membership (id int PRIMARY KEY, member_id int REFERENCES member);
SELECT migration_split.assign_table('member', 'customers'), migration_split.assign_table('membership', 'orders');
INSERT INTO member VALUES (1, false), (2, false);
INSERT INTO membership VALUES (1, 1), (2, 2);
SELECT migration_split.loosen_foreign_key('membership', 'membership_member_id_fkey', 'cascade');
DELETE FROM member WHERE id = 1;
INSERT INTO member VALUES (1, true);
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM membership ORDER BY id;

-- 8. the clean-up reads queued keys back with their types' input
-- functions, by type OID: a cast from text that a type's owner created is
-- not run (here it would run as the tables' owner, a superuser), and the
-- owner of the referenced table needs no USAGE on the schema of its key's
-- type
SET ROLE regress_ms_lft_team;
CREATE TYPE public.tier AS ENUM ('gold', 'silver');
CREATE FUNCTION public.text_to_tier(text) RETURNS public.tier LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'cast run: %', public.escaped();
	RETURN pg_catalog.enum_first(NULL::public.tier);
END
$$;
CREATE CAST (text AS public.tier) WITH FUNCTION public.text_to_tier(text);
RESET ROLE;
CREATE TABLE tier_def (code public.tier PRIMARY KEY);
CREATE TABLE tier_use (id int PRIMARY KEY, code public.tier REFERENCES tier_def ON DELETE CASCADE);
SELECT migration_split.assign_table('tier_def', 'customers'), migration_split.assign_table('tier_use', 'orders');
INSERT INTO tier_def VALUES ('gold'), ('silver');
INSERT INTO tier_use VALUES (1, 'gold'), (2, 'silver');
SELECT migration_split.loosen_foreign_key('tier_use', 'tier_use_code_fkey', 'cascade');
DELETE FROM tier_def WHERE code = 'silver';
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM tier_use ORDER BY id;
CREATE SCHEMA regress_ms_lft_types;
CREATE DOMAIN regress_ms_lft_types.code AS int;
CREATE TABLE coded (id regress_ms_lft_types.code PRIMARY KEY);
CREATE TABLE coded_use (id int PRIMARY KEY, coded_id int REFERENCES coded ON DELETE CASCADE);
ALTER TABLE coded OWNER TO regress_ms_lft_team;
SELECT migration_split.assign_table('coded', 'customers'), migration_split.assign_table('coded_use', 'orders');
INSERT INTO coded VALUES (1), (2);
INSERT INTO coded_use VALUES (1, 1), (2, 2);
SELECT migration_split.loosen_foreign_key('coded_use', 'coded_use_coded_id_fkey', 'cascade');
DELETE FROM coded WHERE id = 1;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM coded_use ORDER BY id;

-- 9. tightening a key compared through a cast that is not built in adds
-- the constraint as the referencing table's owner: the cast does not run
-- as the caller (here a definition written by hand by the owner of both
-- tables, tightened by a superuser)
SET ROLE regress_ms_lft_team;
CREATE TABLE hand_b (code text PRIMARY KEY);
CREATE TABLE hand_a (id int PRIMARY KEY, code public.sku_code);
INSERT INTO hand_b VALUES ('b');
INSERT INTO hand_a VALUES (1, 'b');
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('hand_a', 'hand_a_code_fkey', 'hand_b', '{code}', '{code}', '{"=(text,text)"}',
			'{"=(text,text)"}', 'none', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION');
RESET ROLE;
SELECT migration_split.tighten_foreign_key('hand_a', 'hand_a_code_fkey');
SELECT conname, conrelid::regclass FROM pg_constraint WHERE conname = 'hand_a_code_fkey';

-- 10. the queue trigger function (SECURITY DEFINER) reads the transition
-- tables old_rows and new_rows: fired by a trigger that does not declare
-- them, those names would be looked up in the session's pg_temp, where a
-- temporary view could run anything as the extension's owner; it refuses
-- to run then
SET ROLE regress_ms_lft_team;
CREATE TABLE team_c (id int PRIMARY KEY);
CREATE TABLE team_d (id int PRIMARY KEY, c_id int);
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('team_d', 'team_d_c_id_fkey', 'team_c', '{c_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'cascade', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION');
CREATE FUNCTION public.trojan_row() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'view run: %', public.escaped();
	RETURN 1;
END
$$;
CREATE TEMP VIEW old_rows AS SELECT public.trojan_row() AS id;
CREATE TRIGGER no_transition_table AFTER DELETE ON team_c
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.loose_foreign_key_enqueue();
INSERT INTO team_c VALUES (1);
DELETE FROM team_c;
DROP TRIGGER no_transition_table ON team_c;
CREATE TRIGGER other_transition_table AFTER DELETE ON team_c REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.loose_foreign_key_enqueue();
DELETE FROM team_c;
DROP TRIGGER other_transition_table ON team_c;
DROP VIEW old_rows;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_ms_lft_team';

-- listing orphans needs USAGE on the tables' schemas too: said as for a
-- table the caller may not read
CREATE SCHEMA lft_hidden;
CREATE TABLE lft_hidden.client (id int PRIMARY KEY);
CREATE TABLE lft_hidden.deal (id int PRIMARY KEY, client_id int REFERENCES lft_hidden.client);
SELECT migration_split.assign_table('lft_hidden.client', 'customers'),
	   migration_split.assign_table('lft_hidden.deal', 'orders');
SELECT migration_split.loosen_foreign_key('lft_hidden.deal', 'deal_client_id_fkey', 'none');
GRANT SELECT ON ALL TABLES IN SCHEMA lft_hidden TO regress_ms_lft_admin;
SELECT 'lft_hidden.deal'::regclass::oid AS deal_oid \gset
SET ROLE regress_ms_lft_admin;
SELECT * FROM migration_split.loose_foreign_key_orphans(:deal_oid::oid::regclass, 'deal_client_id_fkey');
RESET ROLE;
DROP SCHEMA lft_hidden CASCADE;

\c contrib_regression
DROP DATABASE regress_ms_loose_trojans;
DROP ROLE regress_ms_lft_admin, regress_ms_lft_team;
