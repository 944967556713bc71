-- A frozen domain: every write to its tables is refused with SQLSTATE MS002
-- (INSERT, UPDATE, DELETE, MERGE, COPY FROM, TRUNCATE, ON CONFLICT, writes
-- from functions, triggers and foreign-key cascades, partitions and
-- inheritance children written directly, tables that join the domain after
-- the freeze), reads go on; sessions in replica mode (the job's apply)
-- pass; other domains are untouched; unfreeze ends it.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT migration_split.create_domain('orders');
SELECT migration_split.create_domain('customers');
CREATE TABLE cust (id int PRIMARY KEY, name text);
CREATE TABLE ord (id int PRIMARY KEY, cust_id int REFERENCES cust ON DELETE CASCADE, total int);
CREATE TABLE ord_part (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE ord_part_1 PARTITION OF ord_part FOR VALUES FROM (0) TO (10);
CREATE TABLE ord_hist (id int);
CREATE TABLE ord_hist_2026 () INHERITS (ord_hist);
INSERT INTO cust VALUES (1, 'a'), (2, 'b');
INSERT INTO ord VALUES (1, 1, 10), (2, 2, 20);
INSERT INTO ord_part VALUES (1, 1);
INSERT INTO ord_hist_2026 VALUES (7);
SELECT migration_split.assign_table('cust', 'customers');
SELECT migration_split.assign_table('ord', 'orders');
SELECT migration_split.assign_table('ord_part', 'orders');
SELECT migration_split.assign_table('ord_hist', 'orders');
SELECT migration_split.set_domain_state('orders', 'copying');
SELECT migration_split.set_domain_state('orders', 'streaming');

-- a function and a trigger of another table that write to the domain
CREATE FUNCTION add_order(i int) RETURNS void LANGUAGE sql
AS $$ INSERT INTO ord VALUES (i, 1, 0) $$;
CREATE TABLE audit (id int);
CREATE FUNCTION audit_to_orders() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN UPDATE ord SET total = total + 1 WHERE id = NEW.id; RETURN NEW; END $$;
CREATE TRIGGER audit_to_orders AFTER INSERT ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_to_orders();

SELECT migration_split.freeze_domain('orders', 'host=orders-db dbname=orders');
SELECT rel, count(*) AS triggers
  FROM migration_split.domain_write_targets('orders') rel
  JOIN pg_trigger t ON t.tgrelid = rel AND t.tgname LIKE 'migration_split_freeze%'
 GROUP BY rel ORDER BY rel::text;
SELECT * FROM migration_split.frozen_table_count('orders');

-- the message names the table, the domain and the service
INSERT INTO ord VALUES (3, 1, 30);
\set VERBOSITY sqlstate
UPDATE ord SET total = 0;
\echo :LAST_ERROR_SQLSTATE
UPDATE ord SET total = 0 WHERE false;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ord WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ord VALUES (1, 1, 0) ON CONFLICT (id) DO NOTHING;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ord o USING (VALUES (1)) v(id) ON o.id = v.id
	WHEN MATCHED THEN UPDATE SET total = 1;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ord o USING (VALUES (9)) v(id) ON o.id = v.id
	WHEN NOT MATCHED THEN INSERT VALUES (9, 1, 9);
\echo :LAST_ERROR_SQLSTATE
COPY ord FROM stdin;
9	1	9
\.
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ord;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE cust CASCADE;
\echo :LAST_ERROR_SQLSTATE
-- partitioned table, its partition directly, inheritance parent and child
INSERT INTO ord_part VALUES (2, 2);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ord_part_1 VALUES (3, 3);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ord_part_1;
\echo :LAST_ERROR_SQLSTATE
UPDATE ord_hist SET id = 8;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ord_hist_2026;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ord_hist_2026;
\echo :LAST_ERROR_SQLSTATE
-- writes from a function, a trigger and a foreign-key cascade
SELECT add_order(4);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO audit VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM cust WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
DO $$ BEGIN EXECUTE 'DELETE FROM ord'; END $$;
\echo :LAST_ERROR_SQLSTATE
-- a writable CTE
WITH d AS (DELETE FROM ord RETURNING *) SELECT count(*) FROM d;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- reads go on, nothing changed
SELECT * FROM ord ORDER BY id;
SELECT count(*) FROM ord_part;
SELECT count(*) FROM ord_hist;
SELECT o.id, c.name FROM ord o JOIN cust c ON c.id = o.cust_id ORDER BY o.id;
-- other domains are not frozen
INSERT INTO cust VALUES (3, 'c');
UPDATE cust SET name = 'cc' WHERE id = 3;

-- a session in replica mode (the job's reverse apply) passes
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO ord VALUES (5, 1, 50);
DELETE FROM ord WHERE id = 5;
COMMIT;

-- the triggers' code runs with a pinned search_path: a user's function
-- shadowing the ones it calls is never used
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
SET search_path = public, pg_catalog;
UPDATE ord SET total = 1;
RESET search_path;
DROP FUNCTION public.lower(text);

-- tables that join the frozen domain after the freeze are frozen too:
-- a partition created or attached, an inheritance child created or
-- attached, a table tagged into the domain; written directly or through
-- the parent
CREATE TABLE ord_part_2 PARTITION OF ord_part FOR VALUES FROM (10) TO (20);
CREATE TABLE ord_part_3 (id int, k int, PRIMARY KEY (id, k));
INSERT INTO ord_part_3 VALUES (20, 20);
ALTER TABLE ord_part ATTACH PARTITION ord_part_3 FOR VALUES FROM (20) TO (30);
CREATE TABLE ord_hist_2027 () INHERITS (ord_hist);
CREATE TABLE ord_hist_2028 (id int);
ALTER TABLE ord_hist_2028 INHERIT ord_hist;
CREATE TABLE ord_notes (id int);
SELECT migration_split.assign_table('ord_notes', 'orders');
SELECT rel, count(*) AS triggers
  FROM migration_split.domain_write_targets('orders') rel
  JOIN pg_trigger t ON t.tgrelid = rel AND t.tgname LIKE 'migration_split_freeze%'
 GROUP BY rel ORDER BY rel::text;
SELECT * FROM migration_split.frozen_table_count('orders');
INSERT INTO ord_part_2 VALUES (11, 11);
\set VERBOSITY sqlstate
INSERT INTO ord_part VALUES (12, 12);
\echo :LAST_ERROR_SQLSTATE
UPDATE ord_part_3 SET id = 21;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ord_part_3;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ord_part_2;
\echo :LAST_ERROR_SQLSTATE
COPY ord_part_2 FROM stdin;
13	13
\.
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ord_hist_2027 VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ord_hist_2028;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ord_notes VALUES (1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) FROM ord_part_3;
-- other domains' new tables are not frozen
CREATE TABLE cust_part (id int, k int) PARTITION BY LIST (k);
SELECT migration_split.assign_table('cust_part', 'customers');
CREATE TABLE cust_part_1 PARTITION OF cust_part FOR VALUES IN (1);
INSERT INTO cust_part VALUES (1, 1);
SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('cust_part'::regclass, 'cust_part_1'::regclass);
DROP TABLE cust_part;

-- extracted: still frozen; unfreeze: writes work again
SELECT migration_split.set_domain_state('orders', 'extracted', '0/AB', NULL);
SELECT state, service FROM migration_split.domain_lifecycle WHERE domain = 'orders';
DELETE FROM ord WHERE id = 2;
SELECT migration_split.unfreeze_domain('orders');
SELECT * FROM migration_split.frozen_table_count('orders');
INSERT INTO ord VALUES (3, 1, 30);
INSERT INTO ord_part_1 VALUES (3, 3);
TRUNCATE ord_hist;
INSERT INTO ord_part_2 VALUES (11, 11);
INSERT INTO ord_part_3 VALUES (21, 21);
INSERT INTO ord_notes VALUES (1);
SELECT count(*) FROM ord;
SELECT count(*) FROM ord_part;
SELECT state FROM migration_split.domain_lifecycle WHERE domain = 'orders';

-- the service database, frozen by a rollback (rollback => true): the
-- refusal names the monolith as the place of the domain's writes, also for
-- a partition created after the freeze
SELECT migration_split.freeze_domain('orders', 'host=monolith dbname=shop', rollback => true);
INSERT INTO ord VALUES (4, 1, 40);
CREATE TABLE ord_part_4 PARTITION OF ord_part FOR VALUES FROM (30) TO (40);
INSERT INTO ord_part_4 VALUES (31, 31);
TRUNCATE ord_part_4;
SELECT migration_split.unfreeze_domain('orders');
INSERT INTO ord_part_4 VALUES (31, 31);

DROP TABLE audit, ord, cust, ord_part, ord_hist, ord_notes CASCADE;
DROP FUNCTION add_order(int), audit_to_orders();
SELECT migration_split.drop_domain('orders', force => true);
SELECT migration_split.drop_domain('customers', force => true);
