-- LOCK of a view locks the tables it reads (through nested views too): a
-- service may not lock another domain's table that way.
INSERT INTO migration_split.domains (domain) VALUES ('ev_orders'), ('ev_customers');
CREATE TABLE ev_customer (id int);
CREATE TABLE ev_order (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('ev_customer', 'ev_customers'), ('ev_order', 'ev_orders');
CREATE VIEW ev_names AS SELECT id FROM ev_customer;
CREATE VIEW ev_names2 AS SELECT id FROM ev_names;
CREATE VIEW ev_orders_only AS SELECT id FROM ev_order;
SET migration_split.service = 'ev_orders';
SET migration_split.enforce = 'error';
BEGIN;
LOCK ev_names IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
BEGIN;
LOCK ev_names2 IN SHARE MODE NOWAIT;
ROLLBACK;
BEGIN;
LOCK ev_order, ev_names2 IN SHARE MODE;
ROLLBACK;
-- a view of the service's own tables is fine
BEGIN;
LOCK ev_orders_only IN ACCESS EXCLUSIVE MODE;
SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'ev\_%' ORDER BY 1;
ROLLBACK;
-- at warn the lock is taken, with a WARNING
SET migration_split.enforce = 'warn';
BEGIN;
LOCK ev_names2 IN ACCESS EXCLUSIVE MODE;
SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relname = 'ev_customer';
ROLLBACK;
RESET migration_split.enforce;
RESET migration_split.service;
DROP VIEW ev_names2, ev_names, ev_orders_only;
DROP TABLE ev_customer, ev_order;
DELETE FROM migration_split.domains WHERE domain LIKE 'ev\_%';
