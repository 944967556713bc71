-- Runtime monitor: which statements and transactions cross domains.
-- The temp instance preloads migration_split with compute_query_id = on.
SELECT migration_split.monitor_loaded();
SELECT migration_split.reset();
SHOW migration_split.track;

INSERT INTO migration_split.domains (domain) VALUES ('mon_orders'), ('mon_customers'), ('mon_billing');
CREATE TABLE mon_customer (id int PRIMARY KEY, name text);
CREATE TABLE mon_order (id int PRIMARY KEY,
	customer_id int REFERENCES mon_customer ON DELETE CASCADE, total int);
CREATE TABLE mon_invoice (id int PRIMARY KEY, order_id int, amount int);
CREATE TABLE mon_unowned (id int PRIMARY KEY, note text);
CREATE TABLE mon_event (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE mon_event_2026 PARTITION OF mon_event
	FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('mon_customer', 'mon_customers'), ('mon_order', 'mon_orders'),
	('mon_invoice', 'mon_billing'), ('mon_event', 'mon_billing');
INSERT INTO mon_customer VALUES (1, 'ann'), (2, 'bob');
INSERT INTO mon_order VALUES (10, 1, 5), (11, 2, 7);
INSERT INTO mon_invoice VALUES (100, 10, 5);
INSERT INTO mon_unowned VALUES (1, 'x');
INSERT INTO mon_event VALUES (1, '2026-05-01');

-- nothing crossed yet: single-domain statements and unowned tables
SELECT count(*) FROM migration_split.cross_domain_queries;

-- a join, twice with different constants: one entry, normalized text
SELECT o.id, c.name FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id WHERE o.total > 3 ORDER BY 1;
SELECT o.id, c.name FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id WHERE o.total > -4 ORDER BY 1;
-- single domain plus an unowned table: no crossing
SELECT count(*) FROM mon_order o JOIN mon_unowned u ON u.id = 1;
-- subquery, CTE, partition (reported as its root)
SELECT count(*) FROM mon_order WHERE customer_id IN (SELECT id FROM mon_customer WHERE name <> 'zed');
WITH i AS (SELECT * FROM mon_invoice) SELECT count(*) FROM i JOIN mon_order o ON o.id = i.order_id;
SELECT count(*) FROM mon_event_2026 e, mon_customer c WHERE c.id = e.id;
-- writes reading another domain
INSERT INTO mon_invoice SELECT 100 + id, id, total FROM mon_order WHERE id = 11;
UPDATE mon_order o SET total = total FROM mon_customer c WHERE c.id = o.customer_id AND c.name = 'ann';
DELETE FROM mon_invoice i USING mon_order o WHERE o.id = i.order_id AND o.total > 100;
MERGE INTO mon_invoice i USING mon_order o ON i.order_id = o.id
	WHEN NOT MATCHED THEN DO NOTHING;
-- three domains
SELECT count(*) FROM mon_order o, mon_customer c, mon_invoice i WHERE false;

SELECT domains, tables, kind, calls, application_name, query,
	   first_seen <= last_seen AS seen_in_order, userid = current_user::regrole AS own
  FROM migration_split.cross_domain_queries
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY query COLLATE "C";

-- views: the base tables behind them count, the view itself does not
CREATE VIEW mon_order_view AS
	SELECT o.id, c.name FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id;
CREATE VIEW mon_single_view AS SELECT * FROM mon_order;
SELECT migration_split.reset();
SELECT count(*) FROM mon_order_view;
SELECT count(*) FROM mon_single_view;
SELECT count(*) FROM mon_single_view v JOIN mon_invoice i ON i.order_id = v.id;
SELECT domains, tables, calls, query FROM migration_split.cross_domain_queries ORDER BY query COLLATE "C";

-- functions: counted at track = all only
CREATE FUNCTION mon_sql_f() RETURNS bigint LANGUAGE sql
	AS 'SELECT count(*) FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id';
CREATE FUNCTION mon_plpgsql_f() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	SELECT count(*) INTO n FROM mon_invoice i JOIN mon_order o ON o.id = i.order_id;
	RETURN n;
END $$;
SELECT migration_split.reset();
SELECT mon_sql_f(), mon_plpgsql_f();
SELECT count(*) FROM migration_split.cross_domain_queries;
SET migration_split.track = 'all';
SELECT mon_sql_f(), mon_plpgsql_f();
SELECT domains, calls, query FROM migration_split.cross_domain_queries ORDER BY query COLLATE "C";
-- ... also when the function is reached through a view
CREATE VIEW mon_fn_view AS SELECT mon_plpgsql_f() AS n;
SELECT migration_split.reset();
SELECT n FROM mon_fn_view;
SELECT domains, calls, query FROM migration_split.cross_domain_queries ORDER BY query COLLATE "C";
SET migration_split.track = 'none';
SELECT migration_split.reset();
SELECT count(*) FROM mon_order_view;
SELECT count(*) FROM migration_split.cross_domain_queries;
RESET migration_split.track;

-- foreign-key checks and cascades are not crossings
SELECT migration_split.reset();
INSERT INTO mon_order VALUES (12, 1, 9);
UPDATE mon_customer SET id = 1 WHERE id = 1;
DELETE FROM mon_customer WHERE id = 2;
SELECT count(*) FROM mon_order;
SELECT count(*) FROM migration_split.cross_domain_queries;
SELECT count(*) FROM migration_split.cross_domain_transactions;

-- transactions writing to two or more domains, counted at commit
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
UPDATE mon_customer SET name = 'anne' WHERE id = 1;
COMMIT;
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
INSERT INTO mon_customer VALUES (3, 'cy');
COMMIT;
-- aborted: not counted
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
UPDATE mon_customer SET name = 'ann' WHERE id = 1;
ROLLBACK;
-- reading another domain is not writing to it
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
SELECT count(*) FROM mon_customer;
COMMIT;
-- three domains in one transaction, with writes through a function
CREATE FUNCTION mon_bill(o int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO mon_invoice VALUES (o + 1000, o, 1);
END $$;
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
UPDATE mon_customer SET name = 'ann' WHERE id = 1;
SELECT mon_bill(10);
COMMIT;
SELECT domains, count, cardinality(sample_queryids) AS samples,
	   first_seen <= last_seen AS seen_in_order
  FROM migration_split.cross_domain_transactions ORDER BY domains;

SELECT domain, crossing_queries, crossing_calls, crossing_transactions, last_violation
  FROM migration_split.domain_runtime_stats() WHERE domain LIKE 'mon\_%' ORDER BY domain;

SELECT evictions, statements, transactions, max FROM migration_split.monitor_info;
-- shared memory at the defaults (max 5000, max_query_text 1024), as the
-- README's Settings state it
SELECT statement_entry_bytes, transaction_entry_bytes, shared_memory_bytes,
	   round(shared_memory_bytes / 1048576.0, 1) AS shared_memory_mb
  FROM migration_split.monitor_info;
SELECT migration_split.reset();
SELECT evictions, statements, transactions, stats_reset > now() - interval '1 minute' AS recent
  FROM migration_split.monitor_info;
SELECT domain, crossing_queries, crossing_calls, crossing_transactions
  FROM migration_split.domain_runtime_stats() WHERE domain LIKE 'mon\_%' ORDER BY domain;

-- with compute_query_id = off no statement is recorded (a cross-domain
-- transaction still is, its writers named)
SET compute_query_id = off;
SELECT count(*) FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id;
BEGIN;
UPDATE mon_order SET total = total WHERE id = 10;
UPDATE mon_invoice SET amount = amount WHERE id = 100;
COMMIT;
RESET compute_query_id;
SELECT count(*) FROM migration_split.cross_domain_queries;
SELECT domains, count, sample_queries FROM migration_split.cross_domain_transactions;
SELECT migration_split.reset();

-- EXPLAIN alone executes nothing
EXPLAIN (COSTS OFF) SELECT * FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id;
SELECT count(*) FROM migration_split.cross_domain_queries;

-- tagging and untagging take effect at once (cached answers invalidated)
SELECT migration_split.reset();
SELECT count(*) FROM mon_order o JOIN mon_unowned u ON u.id = o.id;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('mon_unowned', 'mon_billing');
SELECT count(*) FROM mon_order o JOIN mon_unowned u ON u.id = o.id;
DELETE FROM migration_split.ownership WHERE rel = 'mon_unowned'::regclass;
SELECT count(*) FROM mon_order o JOIN mon_unowned u ON u.id = o.id;
SELECT domains, tables, calls FROM migration_split.cross_domain_queries;

-- writes rolled back to a savepoint or by an exception block do not count
SELECT migration_split.reset();
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
SAVEPOINT s;
UPDATE mon_customer SET name = 'ann' WHERE id = 1;
ROLLBACK TO SAVEPOINT s;
COMMIT;
DO $$
BEGIN
	UPDATE mon_order SET total = total + 1 WHERE id = 10;
	BEGIN
		UPDATE mon_customer SET name = 'ann' WHERE id = 1;
		RAISE EXCEPTION 'undo';
	EXCEPTION WHEN raise_exception THEN NULL;
	END;
END $$;
SELECT count(*) FROM migration_split.cross_domain_transactions;
-- released savepoints keep their writes
BEGIN;
UPDATE mon_order SET total = total + 1 WHERE id = 10;
SAVEPOINT s;
UPDATE mon_customer SET name = 'ann' WHERE id = 1;
RELEASE SAVEPOINT s;
COMMIT;
SELECT domains, count FROM migration_split.cross_domain_transactions;

-- a prepared statement counts as top-level when EXECUTEd at top level
SELECT migration_split.reset();
PREPARE mon_prep (int) AS
	SELECT count(*) FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id WHERE o.total > $1;
EXECUTE mon_prep(1);
EXECUTE mon_prep(2);
SELECT domains, calls, query FROM migration_split.cross_domain_queries;
DEALLOCATE mon_prep;

-- the nesting depth after errors (track = top): statements run by functions
-- and procedures stay nested, including after an error caught in them or a
-- ROLLBACK in a procedure; top-level statements after an error (at top, in
-- an AFTER trigger, rolled back to a savepoint) count
SELECT migration_split.reset();
CREATE FUNCTION mon_raise(n int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	IF n > 0 THEN
		RETURN (SELECT mon_raise(n - 1) FROM mon_unowned LIMIT 1);
	END IF;
	RAISE EXCEPTION 'deep';
END $$;
SELECT mon_raise(3);
SELECT count(*) AS after_error FROM mon_order o JOIN mon_invoice i ON i.order_id = o.id;
CREATE FUNCTION mon_catch() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	BEGIN
		PERFORM mon_raise(2);
	EXCEPTION WHEN raise_exception THEN NULL;
	END;
	SELECT count(*) INTO n FROM mon_order o JOIN mon_customer c ON c.id = o.customer_id WHERE o.id > 1000;
	RETURN n;
END $$;
SELECT mon_catch();
CREATE TABLE mon_trig (id int);
CREATE FUNCTION mon_trig_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mon_raise(1);
	RETURN NULL;
END $$;
CREATE TRIGGER mon_trig_t AFTER INSERT ON mon_trig FOR EACH ROW EXECUTE FUNCTION mon_trig_f();
INSERT INTO mon_trig VALUES (1);
SELECT count(*) AS after_trigger FROM mon_order o JOIN mon_invoice i ON i.order_id = o.id WHERE i.amount > 0;
BEGIN;
SAVEPOINT s;
SELECT mon_raise(2);
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS after_savepoint FROM mon_order o JOIN mon_invoice i ON i.order_id = o.id WHERE o.total > 0;
COMMIT;
CREATE PROCEDURE mon_proc() LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	UPDATE mon_order SET total = total WHERE id = 10;
	ROLLBACK;
	SELECT count(*) INTO n FROM mon_invoice i JOIN mon_customer c ON c.id = i.id;
	COMMIT;
	SELECT count(*) INTO n FROM mon_invoice i JOIN mon_customer c ON c.id = i.order_id;
END $$;
CALL mon_proc();
SELECT count(*) AS after_call FROM mon_order o JOIN mon_invoice i ON i.order_id = o.id WHERE i.id > 0;
SELECT query, calls FROM migration_split.cross_domain_queries ORDER BY query COLLATE "C";
SET migration_split.track = 'all';
SELECT migration_split.reset();
SELECT mon_catch();
CALL mon_proc();
SELECT query, calls FROM migration_split.cross_domain_queries ORDER BY query COLLATE "C";
RESET migration_split.track;
