-- A service under enforcement that owns tables of another domain (a
-- monolith's tables often have one owner) cannot take them out of that
-- domain by changing their tags: that would get it past every check.
SELECT current_user AS regress_superuser \gset
INSERT INTO migration_split.domains (domain) VALUES ('et_orders'), ('et_customers');
CREATE ROLE et_orders_svc LOGIN;
GRANT CREATE ON SCHEMA public TO et_orders_svc;
CREATE TABLE et_customer (id int);
CREATE SCHEMA et_schema AUTHORIZATION et_orders_svc;
CREATE TABLE et_parent (id int);
CREATE TABLE et_child () INHERITS (et_parent);
CREATE TABLE et_order (id int);
ALTER TABLE et_customer OWNER TO et_orders_svc;
ALTER TABLE et_child OWNER TO et_orders_svc;
ALTER TABLE et_order OWNER TO et_orders_svc;
SELECT migration_split.assign_table('et_customer', 'et_customers');
SELECT migration_split.assign_table('et_parent', 'et_customers');
SELECT migration_split.assign_table('et_order', 'et_orders');
ALTER ROLE et_orders_svc SET migration_split.service = 'et_orders';
ALTER ROLE et_orders_svc SET migration_split.enforce = 'error';

\c - et_orders_svc
\set SHOW_CONTEXT never
SELECT count(*) FROM et_customer;
-- moving, removing or overwriting the tag of another domain's table
SELECT migration_split.assign_table('et_customer', 'et_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.unassign_table('et_customer');
UPDATE migration_split.ownership SET domain = 'et_orders'
 WHERE rel = 'et_customer'::regclass;
DELETE FROM migration_split.ownership WHERE rel = 'et_customer'::regclass;
CREATE TABLE et_spare (id int);
UPDATE migration_split.ownership SET rel = 'et_spare'
 WHERE rel = 'et_customer'::regclass;
-- nor ALTER TABLE ... SET SCHEMA of such a table
ALTER TABLE et_customer SET SCHEMA et_schema;
-- a tag of its own for a table that follows another domain
SELECT migration_split.table_domain('et_child');
SELECT migration_split.assign_table('et_child', 'et_orders');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('et_child', 'et_orders');
SELECT count(*) FROM et_child;
-- the service's own tables it may move, even away, but not back
CREATE TABLE et_mine (id int);
SELECT migration_split.assign_table('et_mine', 'et_orders');
SELECT migration_split.assign_table('et_mine', 'et_customers');
SELECT migration_split.assign_table('et_mine', 'et_orders');
-- tags of its own tables go with them when dropped
CREATE TABLE et_gone (id int);
SELECT migration_split.assign_table('et_gone', 'et_orders');
DROP TABLE et_gone;
-- at warn, the change is made, with a WARNING
\c - :regress_superuser
ALTER ROLE et_orders_svc SET migration_split.enforce = 'warn';
\c - et_orders_svc
\set SHOW_CONTEXT never
SELECT migration_split.assign_table('et_mine', 'et_orders');

\c - :regress_superuser
-- an administrator acting for no service moves tables freely
SELECT migration_split.assign_table('et_customer', 'et_orders');
SELECT migration_split.assign_table('et_customer', 'et_customers');
SELECT rel, domain FROM migration_split.ownership
 WHERE rel::text LIKE 'et\_%' ORDER BY rel::text;
SELECT migration_split.table_domain('et_child');
DROP TABLE et_customer, et_child, et_parent, et_order, et_mine, et_spare;
DROP SCHEMA et_schema;
DELETE FROM migration_split.domains WHERE domain LIKE 'et\_%';
REVOKE CREATE ON SCHEMA public FROM et_orders_svc;
ALTER ROLE et_orders_svc RESET ALL;
DROP ROLE et_orders_svc;
