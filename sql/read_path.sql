-- The strangler read path: the tables of a frozen domain are archived and
-- replaced by postgres_fdw foreign tables of the same names and columns
-- reading the service (here a second database of the same instance);
-- joins with other domains answer; writes through them are refused unless
-- enabled; privileges carry over; disable_read_path() restores the tables.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE EXTENSION postgres_fdw;
CREATE DATABASE regress_ms_service;
DO $$
BEGIN
	EXECUTE format('CREATE SERVER orders_svc FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname %L, port %L, host %L)',
				   'regress_ms_service', current_setting('port'),
				   split_part(current_setting('unix_socket_directories'), ',', 1));
END
$$;
CREATE USER MAPPING FOR CURRENT_USER SERVER orders_svc;
CREATE ROLE regress_rp_reader;
CREATE USER MAPPING FOR regress_rp_reader SERVER orders_svc OPTIONS (user 'regress_rp_reader', password 'secret');

-- the service: schema "orders" with the (newer) data
\c regress_ms_service
CREATE SCHEMA orders;
CREATE TABLE orders.ord (id int PRIMARY KEY, cust_id int, total int);
INSERT INTO orders.ord VALUES (1, 1, 10), (2, 2, 20), (3, 1, 31);
\c contrib_regression

SELECT migration_split.create_domain('orders');
SELECT migration_split.create_domain('customers');
CREATE TABLE cust (id int PRIMARY KEY, name text);
CREATE TABLE ord (id int PRIMARY KEY, cust_id int REFERENCES cust, total int);
CREATE VIEW ord_totals AS SELECT sum(total) FROM ord;
INSERT INTO cust VALUES (1, 'a'), (2, 'b');
INSERT INTO ord VALUES (1, 1, 10), (2, 2, 20);
GRANT SELECT ON ord TO regress_rp_reader;
SELECT migration_split.assign_table('cust', 'customers');
SELECT migration_split.assign_table('ord', 'orders');

-- only for a frozen domain, only through a postgres_fdw server
SELECT migration_split.enable_read_path('orders', 'orders_svc');
SELECT migration_split.set_domain_state('orders', 'copying');
SELECT migration_split.set_domain_state('orders', 'streaming');
SELECT migration_split.freeze_domain('orders', 'orders-db');
SELECT migration_split.enable_read_path('orders', 'nosuch');
SELECT migration_split.enable_read_path('orders', NULL);
SELECT migration_split.enable_read_path('orders', 'orders_svc');
SELECT migration_split.enable_read_path('orders', 'orders_svc');

SELECT archived, foreign_table, domain, original_schema
  FROM migration_split.read_paths;
SELECT c.relkind, ftoptions FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid
 WHERE ftrelid = 'public.ord'::regclass;
\d public.ord

-- reads come from the service, joins with other domains answer
SELECT * FROM ord ORDER BY id;
SELECT o.id, c.name FROM ord o JOIN cust c ON c.id = o.cust_id ORDER BY o.id;
-- the foreign table is the domain's; the monitor records every read of it
-- as a remote call into the domain, alone or joined with another domain's
-- table, with rows and time; the archived table joined is no remote call
SELECT rel, domain, via FROM migration_split.relation_domains
 WHERE domain = 'orders' ORDER BY rel::text;
SELECT migration_split.reset();
SELECT * FROM ord WHERE id > 1 ORDER BY id;
SELECT * FROM ord WHERE id > 2 ORDER BY id;
SELECT o.id, c.name FROM ord o JOIN cust c ON c.id = o.cust_id ORDER BY o.id;
SELECT count(*) FROM cust c JOIN migration_split_archive.ord a ON a.cust_id = c.id;
-- without query ids for every statement, the monitor computes them
SET compute_query_id = auto;
SELECT count(*) FROM ord;
RESET compute_query_id;
-- a remote call that fails counts as a call and adds no rows, also in a
-- subtransaction
SELECT 1 / (total - total) FROM ord WHERE id = 1;
SET migration_split.track = 'all';
DO $$
BEGIN
	PERFORM 1 / (total - total) FROM ord WHERE id = 1;
EXCEPTION WHEN division_by_zero THEN
	RAISE NOTICE 'caught';
END
$$;
RESET migration_split.track;
SELECT domains, remote_domains, kind, calls, rows, total_time > 0 AS timed, query
  FROM migration_split.cross_domain_queries ORDER BY query COLLATE "C";
SELECT domain, crossing_queries, crossing_calls, remote_queries, remote_calls,
	   remote_rows, remote_time > 0 AS timed, state
  FROM migration_split.domain_runtime_stats()
 WHERE domain IN ('orders', 'customers') ORDER BY domain;
-- other users see the figures, not the texts
SET ROLE regress_rp_reader;
SELECT remote_domains, calls, rows, query FROM migration_split.cross_domain_queries
 ORDER BY rows, calls;
RESET ROLE;
-- the archived table is kept, still frozen
SELECT count(*) FROM migration_split_archive.ord;
DELETE FROM migration_split_archive.ord;
-- writes through the read path are refused
INSERT INTO ord VALUES (4, 1, 40);
UPDATE ord SET total = 0;
DELETE FROM ord;
-- the privileges carried over; the reader's password is not readable
SELECT grantee, privilege_type FROM information_schema.role_table_grants
 WHERE table_schema = 'public' AND table_name = 'ord' AND grantee = 'regress_rp_reader';
SET ROLE regress_rp_reader;
SELECT umoptions FROM pg_user_mappings WHERE srvname = 'orders_svc' ORDER BY usename;
RESET ROLE;

-- back: the tables return, the foreign tables go
SELECT migration_split.disable_read_path('orders');
SELECT count(*) FROM migration_split.read_paths;
SELECT relkind, count(*) FROM ord, pg_class WHERE pg_class.oid = 'ord'::regclass GROUP BY relkind;
-- the foreign table's tag went with it: reading the table again is no
-- remote call
SELECT count(*) FROM migration_split.ownership WHERE domain = 'orders';
SELECT migration_split.reset();
SELECT count(*) FROM ord;
SELECT o.id FROM ord o JOIN cust c ON c.id = o.cust_id ORDER BY o.id;
SELECT domains, remote_domains, rows FROM migration_split.cross_domain_queries;
-- writable read path on request
SELECT migration_split.enable_read_path('orders', 'orders_svc', 'orders', writable => true);
INSERT INTO ord VALUES (4, 1, 40);
SELECT migration_split.disable_read_path('orders');
SELECT migration_split.unfreeze_domain('orders');

\c regress_ms_service
SELECT * FROM orders.ord ORDER BY id;
\c contrib_regression
DROP DATABASE regress_ms_service;
DROP VIEW ord_totals;
DROP TABLE ord, cust;
DROP SCHEMA migration_split_archive;
SELECT migration_split.drop_domain('orders', force => true);
SELECT migration_split.drop_domain('customers', force => true);
DROP USER MAPPING FOR CURRENT_USER SERVER orders_svc;
DROP USER MAPPING FOR regress_rp_reader SERVER orders_svc;
DROP ROLE regress_rp_reader;
DROP EXTENSION postgres_fdw CASCADE;
