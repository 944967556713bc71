-- Parallel workers: the part of the leader's plan a worker runs is checked
-- by the leader, but the statements of the parallel-safe functions the
-- plan calls run in the worker and are enforced there.
SELECT current_user AS regress_superuser \gset
INSERT INTO migration_split.domains (domain) VALUES ('ep_orders'), ('ep_customers');
CREATE TABLE ep_customer (id int PRIMARY KEY, name text);
CREATE TABLE ep_order (id int PRIMARY KEY, customer_id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('ep_customer', 'ep_customers'), ('ep_order', 'ep_orders');
INSERT INTO ep_customer VALUES (1, 'ann'), (2, 'bob');
INSERT INTO ep_order VALUES (10, 1), (11, 2);
CREATE ROLE ep_orders_svc LOGIN;
GRANT ALL ON ep_customer, ep_order TO ep_orders_svc;
GRANT CREATE ON SCHEMA public TO ep_orders_svc;
ALTER ROLE ep_orders_svc SET migration_split.service = 'ep_orders';
ALTER ROLE ep_orders_svc SET migration_split.enforce = 'error';
SELECT migration_split.reset();

\c - ep_orders_svc
CREATE FUNCTION ep_count() RETURNS bigint LANGUAGE sql VOLATILE PARALLEL SAFE
	AS 'SELECT count(*) FROM ep_customer';
CREATE FUNCTION ep_names() RETURNS text LANGUAGE plpgsql PARALLEL SAFE AS $$
BEGIN
	RETURN (SELECT string_agg(name, ',' ORDER BY id) FROM ep_customer);
END$$;
-- in the leader
SELECT ep_count();
\echo :LAST_ERROR_SQLSTATE
-- in a worker
SET force_parallel_mode = on;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT ep_count();
SELECT ep_count();
\echo :LAST_ERROR_SQLSTATE
SELECT ep_names();
\echo :LAST_ERROR_SQLSTATE
-- the service's own tables are fine in a worker
SELECT count(*) FROM ep_order;
RESET force_parallel_mode;
RESET parallel_leader_participation;
-- the workers of a parallel index build evaluate its expressions: a
-- function that reads another domain only when it runs in a worker
CREATE TABLE ep_big (id int);
INSERT INTO ep_big SELECT g FROM generate_series(1, 200000) g;
ALTER TABLE ep_big SET (parallel_workers = 1);
SELECT pg_backend_pid() AS ep_leader \gset
SET ep.leader = :ep_leader;
CREATE FUNCTION ep_key(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
	IF pg_catalog.pg_backend_pid() <> pg_catalog.current_setting('ep.leader')::int THEN
		PERFORM count(*) FROM public.ep_customer;
	END IF;
	RETURN k;
END$$;
SET max_parallel_maintenance_workers = 1;
\set SHOW_CONTEXT never
CREATE INDEX ep_big_key ON ep_big (ep_key(id));
\set SHOW_CONTEXT errors
\echo :LAST_ERROR_SQLSTATE
RESET max_parallel_maintenance_workers;
DROP TABLE ep_big;
DROP FUNCTION ep_key(int);

\c - :regress_superuser
SET migration_split.service = 'ep_orders';
SET migration_split.enforce = 'warn';
SET force_parallel_mode = on;
SET parallel_leader_participation = off;
-- the part of the plan a worker runs is not checked twice: one WARNING
SELECT count(*) FROM ep_customer;
-- at warn, a worker's WARNING reaches the client too
SELECT ep_count();
RESET force_parallel_mode;
RESET parallel_leader_participation;
RESET migration_split.enforce;
RESET migration_split.service;
-- a worker records nothing: the leader's statement is the one counted
SET migration_split.track = 'all';
SET force_parallel_mode = on;
SELECT count(*) FROM ep_order o JOIN ep_customer c ON c.id = o.customer_id;
RESET force_parallel_mode;
SELECT domains, calls, query FROM migration_split.cross_domain_queries
 WHERE 'ep_orders' = ANY (domains);
RESET migration_split.track;

DROP TABLE ep_order, ep_customer;
DROP FUNCTION ep_count(), ep_names();
DELETE FROM migration_split.domains WHERE domain LIKE 'ep\_%';
REVOKE CREATE ON SCHEMA public FROM ep_orders_svc;
ALTER ROLE ep_orders_svc RESET ALL;
DROP ROLE ep_orders_svc;
