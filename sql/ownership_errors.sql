-- Every bad input of the ownership functions: a clear error with its
-- SQLSTATE, and nothing half-applied.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT migration_split.create_domain('orders');
CREATE TABLE orders_order (id serial PRIMARY KEY, body text);
CREATE VIEW orders_view AS SELECT * FROM orders_order;
CREATE MATERIALIZED VIEW orders_mv AS SELECT * FROM orders_order;
CREATE SEQUENCE orders_free_seq;
CREATE TYPE orders_pair AS (a int, b int);
CREATE TABLE orders_part (id int) PARTITION BY LIST (id);
CREATE TABLE orders_part_1 PARTITION OF orders_part FOR VALUES IN (1);
CREATE TEMP TABLE orders_temp (id int);

-- NULL arguments
SELECT migration_split.create_domain(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.drop_domain(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.drop_domain('orders', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table(NULL, 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_order', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.unassign_table(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_tables(NULL, 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_tables('orders%', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_tables('orders%', 'orders', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.table_domain(NULL);
\echo :LAST_ERROR_SQLSTATE

-- invalid and duplicate domain names
SELECT migration_split.create_domain('Orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('order-items');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('1orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain(repeat('x', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain(repeat('x', 63));
SELECT migration_split.create_domain('orders');
\echo :LAST_ERROR_SQLSTATE
-- names of schemas the service's database cannot have, or has for
-- another purpose (the service's schema is named after the domain);
-- names that merely contain them are fine
SELECT migration_split.create_domain('pg_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('public');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('information_schema');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('migration_split');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('migration_split_job');
\echo :LAST_ERROR_SQLSTATE
SELECT domain FROM migration_split.domains
 WHERE domain IN ('pg_orders', 'public', 'information_schema', 'migration_split', 'migration_split_job');
SELECT migration_split.create_domain('pg');
SELECT migration_split.create_domain('public_holidays');
SELECT migration_split.create_domain('migration_split_jobs');
SELECT migration_split.drop_domain(d) FROM unnest(ARRAY['pg', 'public_holidays', 'migration_split_jobs']) d;

-- unknown domain
SELECT migration_split.assign_table('orders_order', 'shipping');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_tables('orders%', 'shipping');
\echo :LAST_ERROR_SQLSTATE
-- a domain named in the wrong case: the hint says so
SELECT migration_split.assign_table('orders_order', 'Orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.drop_domain('shipping');
\echo :LAST_ERROR_SQLSTATE

-- unknown relation, unknown schema
SELECT migration_split.assign_table('no_such_table', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table(4000000000::oid::regclass, 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.table_domain(4000000000::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.unassign_table(4000000000::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_tables('%', 'orders', 'no_such_schema');
\echo :LAST_ERROR_SQLSTATE

-- not a table
SELECT migration_split.assign_table('orders_view', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_mv', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_order_pkey', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_free_seq', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_order_id_seq', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_pair', 'orders');
\echo :LAST_ERROR_SQLSTATE
-- (the TOAST table's name holds an OID: show the SQLSTATE only)
\set VERBOSITY sqlstate
SELECT migration_split.assign_table(reltoastrelid::regclass, 'orders')
  FROM pg_class WHERE oid = 'orders_order'::regclass;
\set VERBOSITY default
SELECT migration_split.assign_table('orders_part_1', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('orders_temp', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('pg_catalog.pg_class', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('migration_split.ownership', 'orders');
\echo :LAST_ERROR_SQLSTATE
-- direct writes to the catalog are checked for privileges and domains
-- only (see ownership_privileges)
INSERT INTO migration_split.ownership (rel, domain) VALUES ('orders_order', 'shipping');
\echo :LAST_ERROR_SQLSTATE

-- assign_tables skips partitions and temporary tables silently
SELECT migration_split.assign_tables('orders_%', 'orders');
SELECT rel FROM migration_split.table_owners ORDER BY rel::text;

-- unassigning a table without a tag of its own; a view is not a table
SELECT migration_split.unassign_table('orders_view');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.unassign_table('orders_part_1');
\echo :LAST_ERROR_SQLSTATE

-- a domain that still owns tables is not dropped without force
SELECT migration_split.drop_domain('orders');
\echo :LAST_ERROR_SQLSTATE

-- nothing was half-applied
SELECT domain FROM migration_split.domains ORDER BY 1;
SELECT rel, domain FROM migration_split.table_owners ORDER BY rel::text;

-- clean up
DROP TABLE orders_order, orders_part CASCADE;
DROP SEQUENCE orders_free_seq;
DROP TYPE orders_pair;
SELECT migration_split.drop_domain('orders');
SELECT migration_split.drop_domain(repeat('x', 63));
