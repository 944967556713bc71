-- Loose foreign keys: loosen a cross-domain foreign key, queue deletes and
-- key updates of the referenced rows, clean up in batches, list orphans,
-- tighten again.  Every error case and the privileges.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_loose;
\c regress_ms_loose
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;

SELECT migration_split.create_domain('customers'), migration_split.create_domain('orders');
CREATE TABLE customer (id int PRIMARY KEY, name text);
CREATE TABLE customer_address (id int PRIMARY KEY,
	customer_id int REFERENCES customer ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE purchase (id int PRIMARY KEY,
	customer_id int NOT NULL REFERENCES customer ON DELETE CASCADE,
	note text CHECK (note <> 'bad'));
CREATE TABLE invoice (id int PRIMARY KEY,
	customer_id int, region text,
	CONSTRAINT invoice_customer_fkey FOREIGN KEY (customer_id) REFERENCES customer
		ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE unowned_log (id int PRIMARY KEY, purchase_id int REFERENCES purchase);
SELECT migration_split.assign_table('customer', 'customers'),
	   migration_split.assign_table('customer_address', 'customers'),
	   migration_split.assign_table('purchase', 'orders'),
	   migration_split.assign_table('invoice', 'orders');
INSERT INTO customer SELECT g, 'c' || g FROM generate_series(1, 10) g;
INSERT INTO customer_address SELECT g, g FROM generate_series(1, 10) g;
INSERT INTO purchase SELECT g, 1 + g % 10, 'p' FROM generate_series(1, 30) g;
INSERT INTO invoice SELECT g, 1 + g % 10, 'eu' FROM generate_series(1, 20) g;

SELECT constraint_name, from_table, to_table FROM migration_split.cross_domain_foreign_keys;

-- errors
SELECT migration_split.loosen_foreign_key('purchase', 'no_such_fkey', 'cascade');
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_pkey', 'cascade');
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_note_check', 'cascade');
SELECT migration_split.loosen_foreign_key('customer_address', 'customer_address_customer_id_fkey', 'cascade');
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', 'restrict');
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', 'set null');
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', NULL);
SELECT migration_split.loosen_foreign_key(NULL, 'purchase_customer_id_fkey', 'none');
-- an unowned end crosses: unowned_log -> purchase can be loosened
SELECT migration_split.loosen_foreign_key('unowned_log', 'unowned_log_purchase_id_fkey', 'none');

-- loosen: the constraint is gone (and from cross_domain_foreign_keys),
-- its definition remembered, triggers queue the deletes
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', 'CASCADE');
SELECT migration_split.loosen_foreign_key('invoice', 'invoice_customer_fkey', 'set null');
SELECT migration_split.loosen_foreign_key('purchase', 'purchase_customer_id_fkey', 'cascade');
SELECT conname FROM pg_constraint WHERE conname IN ('purchase_customer_id_fkey', 'invoice_customer_fkey');
SELECT constraint_name, from_table, to_table FROM migration_split.cross_domain_foreign_keys;
SELECT constraint_name, from_table, from_domain, from_columns, to_table, to_domain, to_columns,
	   on_delete, definition, pending, oldest_pending IS NULL AS none_pending
  FROM migration_split.loose_foreign_keys;
SELECT tgname, tgtype FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'purchase'::regclass AND NOT tgisinternal;

-- deletes and key updates are queued (one entry per key and loosened
-- key); other updates are not
DELETE FROM customer WHERE id IN (1, 2);
UPDATE customer SET id = 103 WHERE id = 3;
UPDATE customer SET name = 'renamed' WHERE id = 4;
SELECT rel, constraint_name, key FROM migration_split.loose_foreign_key_queue ORDER BY id;
SELECT constraint_name, pending, oldest_pending IS NOT NULL AS has_oldest
  FROM migration_split.loose_foreign_keys;
SELECT * FROM migration_split.loose_foreign_key_orphans('purchase', 'purchase_customer_id_fkey');
SELECT * FROM migration_split.loose_foreign_key_orphans('invoice', 'invoice_customer_fkey');
SELECT * FROM migration_split.loose_foreign_key_orphans('customer_address', 'customer_address_customer_id_fkey');

-- a key that comes back before processing is not cleaned up
INSERT INTO customer VALUES (2, 'back');

-- processing: batches of max_rows entries, oldest first
SELECT migration_split.process_loose_foreign_keys(0);
SELECT migration_split.process_loose_foreign_keys(NULL);
SELECT migration_split.process_loose_foreign_keys(2);
SELECT rel, constraint_name, key FROM migration_split.loose_foreign_key_queue ORDER BY id;
SELECT migration_split.process_loose_foreign_keys();
SELECT migration_split.process_loose_foreign_keys();
SELECT customer_id, count(*) FROM purchase WHERE customer_id IN (1, 2, 3, 103) GROUP BY 1 ORDER BY 1;
SELECT id, customer_id FROM invoice WHERE customer_id IS NULL OR customer_id IN (1, 2, 3) ORDER BY id;
SELECT * FROM migration_split.loose_foreign_key_orphans('purchase', 'purchase_customer_id_fkey');

-- 'none' only reports: no triggers for it, orphans listed
DELETE FROM purchase WHERE id = 5;
SELECT * FROM migration_split.loose_foreign_key_orphans('unowned_log', 'unowned_log_purchase_id_fkey');
INSERT INTO unowned_log VALUES (1, 5), (2, 6), (3, NULL);
SELECT * FROM migration_split.loose_foreign_key_orphans('unowned_log', 'unowned_log_purchase_id_fkey');

-- tighten: fails while orphans exist, then restores the constraint
-- exactly, validated, and drops the triggers with the last action key
SELECT migration_split.tighten_foreign_key('unowned_log', 'unowned_log_purchase_id_fkey');
DELETE FROM unowned_log WHERE id = 1;
SELECT migration_split.tighten_foreign_key('unowned_log', 'unowned_log_purchase_id_fkey');
SELECT migration_split.tighten_foreign_key('unowned_log', 'unowned_log_purchase_id_fkey');
SELECT migration_split.loose_foreign_key_orphans('unowned_log', 'unowned_log_purchase_id_fkey');
DELETE FROM customer WHERE id = 5;
SELECT migration_split.tighten_foreign_key('invoice', 'invoice_customer_fkey');
SELECT migration_split.process_loose_foreign_keys();
SELECT migration_split.tighten_foreign_key('invoice', 'invoice_customer_fkey');
SELECT rel, constraint_name, key FROM migration_split.loose_foreign_key_queue ORDER BY id;
SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint WHERE conname = 'invoice_customer_fkey';
SELECT tgname FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT migration_split.tighten_foreign_key('purchase', 'purchase_customer_id_fkey');
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'purchase_customer_id_fkey';
SELECT tgname FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT count(*) FROM migration_split.loose_foreign_keys;

-- a multi-column key, renamed tables
CREATE TABLE sku (maker text, code int, PRIMARY KEY (maker, code));
CREATE TABLE stock (id int, maker text, code int, FOREIGN KEY (maker, code) REFERENCES sku);
SELECT migration_split.create_domain('catalog');
SELECT migration_split.assign_table('sku', 'catalog'), migration_split.assign_table('stock', 'orders');
INSERT INTO sku VALUES ('a', 1), ('a', 2), ('b', 1);
INSERT INTO stock VALUES (1, 'a', 1), (2, 'a', 2), (3, 'b', 1), (4, 'a', 1);
SELECT migration_split.loosen_foreign_key('stock', 'stock_maker_code_fkey', 'cascade');
ALTER TABLE sku RENAME TO catalog_sku;
DELETE FROM catalog_sku WHERE (maker, code) = ('a', 1);
SELECT key FROM migration_split.loose_foreign_key_queue;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM stock ORDER BY id;
SELECT migration_split.tighten_foreign_key('stock', 'stock_maker_code_fkey');
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'stock_maker_code_fkey';

-- an inherited foreign key of a partition is loosened on its parent
CREATE TABLE shipment (id int, customer_id int REFERENCES customer) PARTITION BY RANGE (id);
CREATE TABLE shipment_1 PARTITION OF shipment FOR VALUES FROM (0) TO (100);
SELECT migration_split.assign_table('shipment', 'orders');
SELECT conname FROM pg_constraint WHERE conrelid = 'shipment_1'::regclass AND contype = 'f' \gset
SELECT migration_split.loosen_foreign_key('shipment_1', :'conname', 'cascade');
SELECT migration_split.loosen_foreign_key('shipment', 'shipment_customer_id_fkey', 'cascade');
SELECT count(*) FROM pg_constraint WHERE conrelid IN ('shipment'::regclass, 'shipment_1'::regclass) AND contype = 'f';
INSERT INTO shipment VALUES (1, 6), (2, 7);
DELETE FROM unowned_log;
DELETE FROM invoice WHERE customer_id IN (6, 7);
DELETE FROM customer WHERE id = 6;
SELECT migration_split.process_loose_foreign_keys();
SELECT * FROM shipment;
-- dropping a table forgets its loose keys and their queue
DELETE FROM customer WHERE id = 7;
SELECT constraint_name, pending FROM migration_split.loose_foreign_keys;
DROP TABLE shipment;
SELECT count(*) FROM migration_split.loose_foreign_keys;
SELECT count(*) FROM migration_split.loose_foreign_key_queue;

-- a partitioned referenced table: deletes and key updates made directly on
-- a partition (also one attached or created after loosening, also a
-- sub-partition) are queued once, like those made through the table; a
-- detached partition queues nothing more; tightening drops the triggers
-- from every member of the tree
CREATE TABLE account (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE account_1 PARTITION OF account FOR VALUES FROM (0) TO (10);
CREATE TABLE account_2 PARTITION OF account FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE TABLE account_2a PARTITION OF account_2 FOR VALUES FROM (10) TO (15);
CREATE TABLE account_note (id int PRIMARY KEY, account_id int REFERENCES account);
SELECT migration_split.assign_table('account', 'customers'), migration_split.assign_table('account_note', 'orders');
INSERT INTO account SELECT g FROM generate_series(0, 14) g;
SELECT migration_split.loosen_foreign_key('account_note', 'account_note_account_id_fkey', 'cascade');
CREATE TABLE account_2b (id int PRIMARY KEY);
ALTER TABLE account_2 ATTACH PARTITION account_2b FOR VALUES FROM (15) TO (20);
CREATE TABLE account_3 PARTITION OF account FOR VALUES FROM (20) TO (30);
INSERT INTO account SELECT g FROM generate_series(15, 29) g;
INSERT INTO account_note SELECT g, g FROM generate_series(0, 29) g;
SELECT tgrelid::regclass AS table_with_queue_triggers, count(*) AS triggers
  FROM pg_trigger WHERE tgname LIKE 'migration_split_loose_fk_%' AND tgrelid::regclass::text LIKE 'account%'
 GROUP BY 1 ORDER BY 1::text;
DELETE FROM account_1 WHERE id IN (1, 2, 6);
DELETE FROM account_2a WHERE id = 11;
DELETE FROM account_2 WHERE id IN (12, 16);
DELETE FROM account_2b WHERE id = 17;
DELETE FROM account_3 WHERE id = 21;
DELETE FROM account WHERE id IN (3, 22);
UPDATE account_1 SET id = 6 WHERE id = 4;
UPDATE account_1 SET id = 5 WHERE id = 5;
SELECT key FROM migration_split.loose_foreign_key_queue ORDER BY key[1]::int;
SELECT migration_split.process_loose_foreign_keys();
SELECT pg_catalog.array_agg(id ORDER BY id) AS notes_left FROM account_note;
ALTER TABLE account DETACH PARTITION account_3;
DELETE FROM account_3 WHERE id = 23;
SELECT count(*) AS queued_after_detach FROM migration_split.loose_foreign_key_queue;
DROP TABLE account_3;
DELETE FROM account_note WHERE account_id >= 20;
SELECT migration_split.tighten_foreign_key('account_note', 'account_note_account_id_fkey');
SELECT count(*) AS queue_triggers_left FROM pg_trigger
 WHERE tgname LIKE 'migration_split_loose_fk_%' AND tgrelid::regclass::text LIKE 'account%';
DROP TABLE account_note, account;

-- Privileges: the owners of both tables (or members of the owning roles)
-- and superusers; migration_split_admin alone is not enough.  Direct
-- writes of the catalog are checked the same way; the queue is not
-- writable at all.
CREATE ROLE regress_ms_lfk_parent;
CREATE ROLE regress_ms_lfk_child;
CREATE ROLE regress_ms_lfk_admin IN ROLE migration_split_admin;
CREATE TABLE team_parent (id int PRIMARY KEY);
CREATE TABLE team_child (id int PRIMARY KEY, parent_id int REFERENCES team_parent ON DELETE CASCADE);
SELECT migration_split.assign_table('team_parent', 'customers'), migration_split.assign_table('team_child', 'orders');
ALTER TABLE team_parent OWNER TO regress_ms_lfk_parent;
ALTER TABLE team_child OWNER TO regress_ms_lfk_child;
INSERT INTO team_parent VALUES (1), (2);
INSERT INTO team_child VALUES (1, 1), (2, 2);
SET ROLE regress_ms_lfk_child;
SELECT migration_split.loosen_foreign_key('team_child', 'team_child_parent_id_fkey', 'cascade');
INSERT INTO migration_split.loose_foreign_key_definitions
	(rel, constraint_name, referenced, from_columns, to_columns, pf_operators, pp_operators,
	 on_delete, definition, options)
	VALUES ('team_child', 'fake', 'team_parent', '{parent_id}', '{id}', '{"=(integer,integer)"}',
			'{"=(integer,integer)"}', 'cascade', '', '');
INSERT INTO migration_split.loose_foreign_key_queue (rel, constraint_name, key)
	VALUES ('team_child', 'team_child_parent_id_fkey', '{1}');
RESET ROLE;
SET ROLE regress_ms_lfk_admin;
SELECT migration_split.loosen_foreign_key('team_child', 'team_child_parent_id_fkey', 'cascade');
RESET ROLE;
GRANT regress_ms_lfk_parent TO regress_ms_lfk_child;
SET ROLE regress_ms_lfk_child;
SELECT migration_split.loosen_foreign_key('team_child', 'team_child_parent_id_fkey', 'cascade');
RESET ROLE;
REVOKE regress_ms_lfk_parent FROM regress_ms_lfk_child;
-- the queue trigger runs for any deleting user, and adds nothing of theirs
SET ROLE regress_ms_lfk_parent;
DELETE FROM team_parent WHERE id = 1;
RESET ROLE;
SELECT rel, key FROM migration_split.loose_foreign_key_queue;
-- processing needs the queue (migration_split_admin) and takes only the
-- entries whose table owners the caller may become
SET ROLE regress_ms_lfk_child;
SELECT migration_split.process_loose_foreign_keys();
RESET ROLE;
SET ROLE regress_ms_lfk_admin;
SELECT migration_split.process_loose_foreign_keys();
RESET ROLE;
GRANT regress_ms_lfk_parent, regress_ms_lfk_child TO regress_ms_lfk_admin;
-- the clean-up runs as the referencing table's owner: its trigger sees it
CREATE FUNCTION whoami() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'clean-up of % runs as %', TG_TABLE_NAME, current_user;
	RETURN OLD;
END
$$;
CREATE TRIGGER whoami BEFORE DELETE ON team_child FOR EACH ROW EXECUTE FUNCTION whoami();
SET ROLE regress_ms_lfk_admin;
SELECT migration_split.process_loose_foreign_keys();
SELECT current_user;
RESET ROLE;
SELECT * FROM team_child;
-- tightening: owners of both tables again
SET ROLE regress_ms_lfk_child;
SELECT migration_split.tighten_foreign_key('team_child', 'team_child_parent_id_fkey');
DELETE FROM migration_split.loose_foreign_key_definitions;
RESET ROLE;
SELECT migration_split.tighten_foreign_key('team_child', 'team_child_parent_id_fkey');

-- MATCH FULL: a row with some key columns NULL and some not is an orphan
-- too (the constraint refuses it when tightened); all NULL is not
CREATE TABLE part (maker text, code int, PRIMARY KEY (maker, code));
CREATE TABLE part_use (id int, maker text, code int, FOREIGN KEY (maker, code) REFERENCES part MATCH FULL);
SELECT migration_split.assign_table('part', 'catalog'), migration_split.assign_table('part_use', 'orders');
INSERT INTO part VALUES ('a', 1);
INSERT INTO part_use VALUES (1, 'a', 1), (2, NULL, NULL);
SELECT migration_split.loosen_foreign_key('part_use', 'part_use_maker_code_fkey', 'none');
INSERT INTO part_use VALUES (3, 'a', NULL), (4, NULL, 2), (5, 'b', 2);
SELECT * FROM migration_split.loose_foreign_key_orphans('part_use', 'part_use_maker_code_fkey');
DELETE FROM part_use WHERE id IN (3, 4, 5);
SELECT * FROM migration_split.loose_foreign_key_orphans('part_use', 'part_use_maker_code_fkey');
SELECT migration_split.tighten_foreign_key('part_use', 'part_use_maker_code_fkey');

-- keys are written and read as text with pinned settings: a delete made
-- with another DateStyle is cleaned up after
CREATE TABLE day (d date PRIMARY KEY);
CREATE TABLE booking (id int PRIMARY KEY, d date REFERENCES day ON DELETE CASCADE);
SELECT migration_split.assign_table('day', 'customers'), migration_split.assign_table('booking', 'orders');
INSERT INTO day VALUES ('2020-04-03'), ('2020-03-04');
INSERT INTO booking VALUES (1, '2020-04-03'), (2, '2020-03-04');
SELECT migration_split.loosen_foreign_key('booking', 'booking_d_fkey', 'cascade');
SET DateStyle = 'SQL, DMY';
DELETE FROM day WHERE d = '2020-04-03';
SET DateStyle = 'SQL, MDY';
SELECT key FROM migration_split.loose_foreign_key_queue;
SELECT migration_split.process_loose_foreign_keys();
RESET DateStyle;
SELECT * FROM booking ORDER BY id;

-- a NOT VALID key comes back validated
CREATE TABLE booking_note (id int PRIMARY KEY, d date);
SELECT migration_split.assign_table('booking_note', 'orders');
ALTER TABLE booking_note ADD CONSTRAINT booking_note_d_fkey FOREIGN KEY (d) REFERENCES day NOT VALID;
SELECT migration_split.loosen_foreign_key('booking_note', 'booking_note_d_fkey', 'none');
SELECT definition FROM migration_split.loose_foreign_keys WHERE constraint_name = 'booking_note_d_fkey';
SELECT migration_split.tighten_foreign_key('booking_note', 'booking_note_d_fkey');
SELECT convalidated FROM pg_constraint WHERE conname = 'booking_note_d_fkey';

\c contrib_regression
DROP DATABASE regress_ms_loose;
DROP ROLE regress_ms_lfk_parent, regress_ms_lfk_child, regress_ms_lfk_admin;
