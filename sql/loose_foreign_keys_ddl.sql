-- Loose foreign keys and later DDL: the event triggers that keep the queue
-- triggers on new partitions act only on what the command touched (an
-- unrelated user's CREATE TABLE or ALTER TABLE never fails because of a
-- loose key it has nothing to do with); renaming a key column of a loose
-- key is refused (its definition names the columns); dropping one forgets
-- the loose key, as dropping its table does.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_loose_ddl;
\c regress_ms_loose_ddl
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;
CREATE ROLE regress_ms_lfd_team;
CREATE ROLE regress_ms_lfd_other;
GRANT CREATE ON SCHEMA public TO regress_ms_lfd_team, regress_ms_lfd_other;
SELECT migration_split.create_domain('customers'), migration_split.create_domain('orders');

-- 1. a team writes the definition of a loose key between two of its tables
-- by hand (allowed: it owns both) without the queue triggers, or drops
-- them: another user's DDL goes on
SET ROLE regress_ms_lfd_team;
CREATE TABLE account (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE account_1 PARTITION OF account FOR VALUES FROM (0) TO (10);
CREATE TABLE account_note (id int PRIMARY KEY, account_id int);
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('account_note', 'by_hand', 'account', '{account_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'cascade', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION');
RESET ROLE;
SET ROLE regress_ms_lfd_other;
CREATE TABLE other (id int);
ALTER TABLE other ADD COLUMN note text;
CREATE TABLE other_parted (id int) PARTITION BY RANGE (id);
CREATE TABLE other_parted_1 PARTITION OF other_parted FOR VALUES FROM (0) TO (10);
RESET ROLE;
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'migration_split_loose_fk_%' ORDER BY 1::text, 2;
-- nor does the team's own new partition of that tree: the event trigger
-- adds them only to a tree some member of which has them (pg_restore adds
-- constraints after loading the definitions, and the triggers after)
SET ROLE regress_ms_lfd_team;
CREATE TABLE account_2 PARTITION OF account FOR VALUES FROM (10) TO (20);
RESET ROLE;
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'migration_split_loose_fk_%' ORDER BY 1::text, 2;
DELETE FROM migration_split.loose_foreign_key_definitions;
-- a definition written by hand must name columns that exist, as many on
-- both sides as operators (else the rename check above would refuse any
-- later ALTER TABLE of the table)
SET ROLE regress_ms_lfd_team;
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('account_note', 'by_hand', 'account', '{no_such_column}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'cascade', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION');
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('account_note', 'by_hand', 'account', '{account_id,id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'cascade', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION');
RESET ROLE;
DROP TABLE account_note, account;

-- 2. renaming a key column of a loose key, on either side, is refused;
-- other columns may be renamed
CREATE TABLE customer (id int PRIMARY KEY, name text);
CREATE TABLE purchase (id int PRIMARY KEY, customer_id int REFERENCES customer ON DELETE CASCADE);
SELECT migration_split.assign_table('customer', 'customers'), migration_split.assign_table('purchase', 'orders');
INSERT INTO customer VALUES (1, 'a'), (2, 'b');
INSERT INTO purchase VALUES (1, 1), (2, 2);
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', 'cascade');
ALTER TABLE purchase RENAME COLUMN customer_id TO client_id;
ALTER TABLE customer RENAME COLUMN id TO customer_no;
ALTER TABLE customer RENAME COLUMN name TO full_name;
ALTER TABLE purchase RENAME TO purchase_order;
DELETE FROM customer WHERE id = 1;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM purchase_order ORDER BY id;

-- 3. dropping a key column forgets the loose key (referencing side, then
-- referenced side) with its queue
DELETE FROM customer WHERE id = 2;
SELECT constraint_name, pending FROM migration_split.loose_foreign_keys;
ALTER TABLE purchase_order DROP COLUMN customer_id;
SELECT count(*) AS loose_keys FROM migration_split.loose_foreign_keys;
SELECT count(*) AS queued FROM migration_split.loose_foreign_key_queue;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal;
CREATE TABLE invoice (id int PRIMARY KEY, customer_id int REFERENCES customer);
SELECT migration_split.assign_table('invoice', 'orders');
SELECT migration_split.loosen_foreign_key('invoice', 'invoice_customer_id_fkey', 'set null');
ALTER TABLE customer DROP COLUMN id;
SELECT count(*) AS loose_keys FROM migration_split.loose_foreign_keys;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal;

-- 4. the same with session_replication_role = replica, which skips the
-- event triggers and table triggers that are not ENABLE ALWAYS: a key
-- column rename is refused, a drop of a key column or of either table
-- forgets the key with its queue, tightening forgets the queue too, and
-- the row check of the definitions still runs
CREATE TABLE vendor (id int PRIMARY KEY, code int UNIQUE);
CREATE TABLE supply (id int PRIMARY KEY, vendor_id int REFERENCES vendor,
	vendor_code int REFERENCES vendor (code));
CREATE TABLE shipment (id int PRIMARY KEY, vendor_id int REFERENCES vendor);
SELECT migration_split.assign_table('vendor', 'customers'), migration_split.assign_table('supply', 'orders'),
	   migration_split.assign_table('shipment', 'orders');
SELECT migration_split.loosen_foreign_key('supply', 'supply_vendor_id_fkey', 'cascade'),
	   migration_split.loosen_foreign_key('supply', 'supply_vendor_code_fkey', 'cascade'),
	   migration_split.loosen_foreign_key('shipment', 'shipment_vendor_id_fkey', 'none');
INSERT INTO vendor VALUES (1, 10);
DELETE FROM vendor;
SET session_replication_role = replica;
ALTER TABLE supply RENAME COLUMN vendor_id TO supplier_id;
ALTER TABLE vendor RENAME COLUMN code TO vendor_no;
SELECT migration_split.tighten_foreign_key('supply', 'supply_vendor_id_fkey');
RESET session_replication_role;
SELECT constraint_name, pending FROM migration_split.loose_foreign_keys;
SELECT count(*) AS queued FROM migration_split.loose_foreign_key_queue;
SET session_replication_role = replica;
ALTER TABLE supply DROP COLUMN vendor_code;
RESET session_replication_role;
SELECT constraint_name, pending FROM migration_split.loose_foreign_keys;
SELECT count(*) AS queued FROM migration_split.loose_foreign_key_queue;
SELECT migration_split.loosen_foreign_key('supply', 'supply_vendor_id_fkey', 'cascade');
INSERT INTO vendor VALUES (2, 20);
DELETE FROM vendor;
SET session_replication_role = replica;
UPDATE migration_split.loose_foreign_key_definitions SET constraint_name = 'supply_vendor_fkey'
 WHERE constraint_name = 'supply_vendor_id_fkey';
RESET session_replication_role;
SELECT constraint_name, pending FROM migration_split.loose_foreign_keys;
SET session_replication_role = replica;
DROP TABLE supply;
RESET session_replication_role;
SELECT constraint_name, pending FROM migration_split.loose_foreign_keys;
SELECT count(*) AS queued FROM migration_split.loose_foreign_key_queue;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'vendor'::regclass AND NOT tgisinternal;
SET session_replication_role = replica;
DROP TABLE vendor CASCADE;
RESET session_replication_role;
SELECT count(*) AS loose_keys FROM migration_split.loose_foreign_keys;
-- a role that may set session_replication_role still may not write the
-- definition of a key between another role's tables
GRANT SET ON PARAMETER session_replication_role TO regress_ms_lfd_other;
SET ROLE regress_ms_lfd_team;
CREATE TABLE team_parent (id int PRIMARY KEY);
CREATE TABLE team_child (id int PRIMARY KEY, parent_id int);
RESET ROLE;
SET ROLE regress_ms_lfd_other;
SET session_replication_role = replica;
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('team_child', 'forged', 'team_parent', '{parent_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'cascade', '', ' ON UPDATE NO ACTION ON DELETE NO ACTION');
RESET session_replication_role;
RESET ROLE;
SELECT count(*) AS loose_keys FROM migration_split.loose_foreign_keys;
REVOKE SET ON PARAMETER session_replication_role FROM regress_ms_lfd_other;

\c contrib_regression
DROP DATABASE regress_ms_loose_ddl;
DROP ROLE regress_ms_lfd_team, regress_ms_lfd_other;
