-- A service bound by its administrator (ALTER ROLE ... SET
-- migration_split.service / enforce) cannot unbind itself, and
-- enforcement covers every way a statement reaches a table.
INSERT INTO migration_split.domains (domain) VALUES ('bind_orders'), ('bind_inventory');
CREATE TABLE bind_order (id int PRIMARY KEY, total int);
CREATE TABLE bind_stock (id int PRIMARY KEY, qty int);
CREATE TABLE bind_order_item (order_id int REFERENCES bind_order,
	stock_id int REFERENCES bind_stock);
CREATE TABLE bind_reservation (order_id int REFERENCES bind_order ON DELETE CASCADE);
CREATE TABLE bind_stock_log (order_id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('bind_order', 'bind_orders'), ('bind_order_item', 'bind_orders'),
	('bind_stock', 'bind_inventory'), ('bind_reservation', 'bind_inventory'),
	('bind_stock_log', 'bind_inventory');
INSERT INTO bind_order VALUES (1, 10), (2, 20);
INSERT INTO bind_stock VALUES (7, 100);
INSERT INTO bind_reservation VALUES (1);
CREATE SEQUENCE bind_stock_seq OWNED BY bind_stock.id;

CREATE ROLE bind_orders_svc LOGIN;
CREATE ROLE bind_inventory_svc;
GRANT bind_inventory_svc TO bind_orders_svc;
CREATE ROLE bind_admin LOGIN IN ROLE migration_split_admin;
CREATE ROLE bind_free LOGIN;
CREATE ROLE bind_creator LOGIN CREATEROLE;
GRANT ALL ON bind_order, bind_stock, bind_order_item, bind_reservation,
	bind_stock_log TO bind_orders_svc, bind_inventory_svc, bind_admin, bind_free, bind_creator;
ALTER ROLE bind_orders_svc SET migration_split.service = 'bind_orders';
ALTER ROLE bind_orders_svc SET migration_split.enforce = 'error';
ALTER ROLE bind_admin SET migration_split.service = 'bind_orders';
ALTER ROLE bind_admin SET migration_split.enforce = 'error';
GRANT SET ON PARAMETER migration_split.enforce TO bind_orders_svc;
GRANT USAGE ON SEQUENCE bind_stock_seq TO bind_orders_svc;
-- a function owned by a superuser that would unbind its caller, one that
-- reads another domain, and a rule that writes another domain
CREATE FUNCTION bind_unbound() RETURNS bigint LANGUAGE sql SECURITY DEFINER
	SET migration_split.service = '' AS 'SELECT count(*) FROM bind_stock';
CREATE FUNCTION bind_peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER
	AS 'SELECT count(*) FROM bind_stock';
CREATE RULE bind_log AS ON INSERT TO bind_order
	DO ALSO INSERT INTO bind_stock_log VALUES (NEW.id);
SELECT current_user AS regress_superuser, current_database() AS regress_db \gset

\c - bind_orders_svc
\set VERBOSITY default
SHOW migration_split.service;
SELECT count(*) FROM bind_order;
SELECT count(*) FROM bind_stock;
-- the session cannot change its service ...
SET migration_split.service = '';
\echo :LAST_ERROR_SQLSTATE
SET migration_split.service = 'bind_inventory';
SELECT set_config('migration_split.service', '', false);
BEGIN;
SET LOCAL migration_split.service = 'bind_inventory';
ROLLBACK;
SELECT bind_unbound();
-- ... and RESET, DISCARD or switching enforcement off change nothing
RESET migration_split.service;
SELECT count(*) FROM bind_stock;
DISCARD ALL;
SELECT count(*) FROM bind_stock;
SET migration_split.enforce = 'off';
SHOW migration_split.enforce;
SELECT count(*) FROM bind_stock;
SET migration_split.enforce = 'warn';
SELECT count(*) FROM bind_stock;
RESET migration_split.enforce;
-- the session's service counts in SECURITY DEFINER functions
SELECT bind_peek();
-- a service granted another service's role stays itself
SET ROLE bind_inventory_svc;
SELECT count(*) FROM bind_stock;
RESET ROLE;
-- nor can it undo its binding for its next sessions
ALTER ROLE bind_orders_svc RESET migration_split.service;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE bind_orders_svc SET migration_split.service = '';
ALTER ROLE bind_orders_svc SET migration_split.enforce = 'off';
ALTER ROLE bind_orders_svc RESET ALL;
ALTER ROLE bind_orders_svc IN DATABASE :"regress_db" SET migration_split.service = '';
ALTER DATABASE :"regress_db" SET migration_split.service = '';

-- statements that never reach the executor
\set VERBOSITY terse
COPY bind_stock TO STDOUT;
COPY bind_stock (qty) TO STDOUT;
\copy bind_stock FROM '/dev/null'
COPY (SELECT qty FROM bind_stock) TO STDOUT;
TRUNCATE bind_stock;
TRUNCATE bind_order CASCADE;
BEGIN;
LOCK TABLE bind_stock IN ACCESS SHARE MODE;
ROLLBACK;
ALTER TABLE bind_stock ADD COLUMN note text;
ALTER TABLE bind_stock RENAME TO bind_stock2;
CREATE INDEX ON bind_stock (qty);
VACUUM bind_stock;
ANALYZE bind_stock;
CLUSTER bind_stock USING bind_stock_pkey;
CREATE TRIGGER bind_t BEFORE INSERT ON bind_stock
	FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
CREATE RULE bind_r AS ON INSERT TO bind_stock DO INSTEAD NOTHING;
DROP TABLE bind_stock;
-- the service's own tables are fine
COPY bind_order TO STDOUT;
BEGIN;
LOCK TABLE bind_order;
ROLLBACK;
-- prepared statements and cursors
PREPARE bind_p AS SELECT count(*) FROM bind_stock;
EXECUTE bind_p;
BEGIN;
DECLARE bind_c CURSOR FOR SELECT * FROM bind_stock;
ROLLBACK;
-- rules
INSERT INTO bind_order VALUES (3, 30);
-- not checked (README, what enforcement does not guarantee): sequences of
-- another domain, catalog views showing data of its tables
SELECT nextval('bind_stock_seq') > 0 AS nextval_ran;
SELECT count(*) >= 0 AS pg_stats_read FROM pg_stats WHERE tablename = 'bind_stock';
-- foreign-key checks and cascades fired by the service's own writes are
-- not violations
INSERT INTO bind_order_item VALUES (1, 7);
DELETE FROM bind_order_item;
DELETE FROM bind_order WHERE id = 1;

-- connection options are no way out either
\set VERBOSITY default
SELECT format('dbname=%s user=bind_orders_svc options=''-c migration_split.service=bind_inventory''',
	:'regress_db') AS conninfo \gset
\c :conninfo
SELECT count(*) FROM bind_stock;

-- a member of migration_split_admin acts as any service or none
\c - bind_admin
SELECT count(*) FROM bind_stock;
SET migration_split.service = '';
SELECT count(*) FROM bind_stock;
SET migration_split.service = 'bind_inventory';
SELECT count(*) FROM bind_stock;

-- a role bound by nothing chooses its service freely ...
\c - bind_free
SET migration_split.service = 'bind_inventory';
SHOW migration_split.service;
SELECT count(*) FROM bind_order;
-- ... until ALTER DATABASE binds every role in the database
\c - :regress_superuser
ALTER DATABASE :"regress_db" SET migration_split.service = 'bind_inventory';
ALTER DATABASE :"regress_db" SET migration_split.enforce = 'error';
\c - bind_free
SELECT count(*) FROM bind_order;
SET migration_split.service = '';
ALTER DATABASE :"regress_db" RESET migration_split.service;
ALTER ROLE bind_free RESET ALL;
-- a role's own binding takes precedence over the database's
\c - bind_orders_svc
SELECT count(*) FROM bind_order;
-- CREATEROLE is administrator power: such a role can join migration_split_admin
\c - bind_creator
GRANT migration_split_admin TO bind_creator;
\c - bind_creator
SET migration_split.service = '';
SELECT count(*) FROM bind_order;
\c - :regress_superuser
ALTER DATABASE :"regress_db" RESET migration_split.service;
ALTER DATABASE :"regress_db" RESET migration_split.enforce;
\c - :regress_superuser
-- the other domain's tables were not written (bind_stock still has its
-- row, the rule wrote no log), except by the cascade of the service's own
-- DELETE (bind_reservation)
SELECT count(*) FROM bind_stock;
SELECT count(*) FROM bind_stock_log;
SELECT count(*) FROM bind_reservation;
SELECT rolname, setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
 WHERE rolname LIKE 'bind\_%' ORDER BY 1;

-- TRUNCATE of the ownership table is refused (it would break every slot
-- behind it), so it cannot forget the tags that bind a service either
SET migration_split.service = 'bind_orders';
SET migration_split.enforce = 'error';
SELECT count(*) FROM bind_stock;
TRUNCATE migration_split.ownership CASCADE;
SELECT count(*) FROM bind_stock;
RESET migration_split.enforce;
RESET migration_split.service;

DROP FUNCTION bind_unbound(), bind_peek();
DROP TABLE bind_order_item, bind_reservation, bind_stock_log, bind_order, bind_stock;
DELETE FROM migration_split.domains WHERE domain LIKE 'bind\_%';
DROP OWNED BY bind_orders_svc, bind_inventory_svc, bind_admin, bind_free, bind_creator;
ALTER ROLE bind_orders_svc RESET ALL;
ALTER ROLE bind_admin RESET ALL;
DROP ROLE bind_orders_svc, bind_inventory_svc, bind_admin, bind_free, bind_creator;
