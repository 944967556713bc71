-- Foreign-key cascades are not violations, but the statements run inside
-- them by the service's own code (triggers on the cascaded rows, functions
-- they call) are enforced like any other statement: the security context
-- of the cascade is no way around enforcement.
SELECT current_user AS regress_superuser \gset
INSERT INTO migration_split.domains (domain) VALUES ('ec_orders'), ('ec_customers');
CREATE TABLE ec_customer (id int PRIMARY KEY, name text);
CREATE TABLE ec_order (id int PRIMARY KEY, customer_id int);
CREATE TABLE ec_payment (customer_id int REFERENCES ec_customer ON DELETE CASCADE);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('ec_customer', 'ec_customers'), ('ec_order', 'ec_orders'),
	('ec_payment', 'ec_customers');
INSERT INTO ec_customer VALUES (1, 'ann'), (2, 'bob');
INSERT INTO ec_order VALUES (10, 1), (11, 2), (12, 2), (13, 1), (14, 1),
	(15, 1), (16, 1);
INSERT INTO ec_payment VALUES (1), (2);
CREATE ROLE ec_orders_svc LOGIN;
GRANT ALL ON ec_customer, ec_order, ec_payment TO ec_orders_svc;
GRANT CREATE ON SCHEMA public TO ec_orders_svc;
ALTER ROLE ec_orders_svc SET migration_split.service = 'ec_orders';
ALTER ROLE ec_orders_svc SET migration_split.enforce = 'error';
SELECT migration_split.reset();

\c - ec_orders_svc
-- a table of the service's own, cascaded from its orders, with BEFORE
-- triggers that reach the other domain
CREATE TABLE ec_line (order_id int REFERENCES ec_order ON DELETE CASCADE,
	kind text);
CREATE FUNCTION ec_line_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'read % customers', (SELECT count(*) FROM ec_customer);
	RETURN OLD;
END$$;
CREATE FUNCTION ec_line_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM ec_customer WHERE id = 2;
	RETURN OLD;
END$$;
CREATE FUNCTION ec_line_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'TRUNCATE ec_customer CASCADE';
	RETURN OLD;
END$$;
-- a set-returning SQL function evaluated lazily starts its query with the
-- flag of the foreign-key queries (no triggers), in their context here
CREATE FUNCTION ec_names() RETURNS SETOF text LANGUAGE sql
	AS 'SELECT name FROM ec_customer';
CREATE FUNCTION ec_line_lazy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'names %', (SELECT string_agg(n, ',') FROM (SELECT ec_names() AS n) s);
	RETURN OLD;
END$$;
-- the service's own write in a trigger: its foreign-key check reaches the
-- other domain, which is no violation (the key itself was made by an
-- administrator: a service may not create one, enforcement_drops)
\c - :regress_superuser
CREATE TABLE ec_audit (customer_id int REFERENCES ec_customer);
ALTER TABLE ec_audit OWNER TO ec_orders_svc;
SELECT migration_split.assign_table('ec_audit', 'ec_orders');
\c - ec_orders_svc
CREATE FUNCTION ec_line_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ec_audit VALUES (1);
	RETURN OLD;
END$$;
CREATE TRIGGER ec_line_lazy BEFORE DELETE ON ec_line FOR EACH ROW
	WHEN (OLD.kind = 'lazy') EXECUTE FUNCTION ec_line_lazy();
CREATE TRIGGER ec_line_audit BEFORE DELETE ON ec_line FOR EACH ROW
	WHEN (OLD.kind = 'audit') EXECUTE FUNCTION ec_line_audit();
CREATE TRIGGER ec_line_read BEFORE DELETE ON ec_line FOR EACH ROW
	WHEN (OLD.kind = 'read') EXECUTE FUNCTION ec_line_read();
CREATE TRIGGER ec_line_write BEFORE DELETE ON ec_line FOR EACH ROW
	WHEN (OLD.kind = 'write') EXECUTE FUNCTION ec_line_write();
CREATE TRIGGER ec_line_truncate BEFORE DELETE ON ec_line FOR EACH ROW
	WHEN (OLD.kind = 'truncate') EXECUTE FUNCTION ec_line_truncate();
-- the foreign-key check of the service's own insert is no violation
INSERT INTO ec_line VALUES (10, 'read'), (11, 'write'), (12, 'truncate'),
	(13, 'plain'), (14, 'lazy'), (15, 'audit');
SELECT migration_split.assign_table('ec_line', 'ec_orders');

-- a plain cascade is no violation
DELETE FROM ec_order WHERE id = 13;
SELECT count(*) FROM ec_line;
-- nor is the foreign-key check of a write of a trigger of a cascaded row
DELETE FROM ec_order WHERE id = 15;
SELECT count(*) FROM ec_audit;
-- the statements of the triggers of cascaded rows are, reads ...
DELETE FROM ec_order WHERE id = 10;
\echo :LAST_ERROR_SQLSTATE
-- ... writes ...
DELETE FROM ec_order WHERE id = 11;
\echo :LAST_ERROR_SQLSTATE
-- ... utility statements ...
DELETE FROM ec_order WHERE id = 12;
\echo :LAST_ERROR_SQLSTATE
-- ... and the queries of functions they call
DELETE FROM ec_order WHERE id = 14;
\echo :LAST_ERROR_SQLSTATE
-- a DO INSTEAD rule on the cascaded table turns the cascade into another
-- statement
CREATE TABLE ec_ruled (order_id int REFERENCES ec_order ON DELETE CASCADE);
SELECT migration_split.assign_table('ec_ruled', 'ec_orders');
INSERT INTO ec_ruled VALUES (16);
CREATE RULE ec_ruled_delete AS ON DELETE TO ec_ruled
	DO INSTEAD DELETE FROM ec_customer;
DELETE FROM ec_order WHERE id = 16;
\echo :LAST_ERROR_SQLSTATE
DROP RULE ec_ruled_delete ON ec_ruled;
-- at warn, the statement runs with a WARNING for each
\c - :regress_superuser
ALTER ROLE ec_orders_svc SET migration_split.enforce = 'warn';
\c - ec_orders_svc
BEGIN;
DELETE FROM ec_order WHERE id IN (10, 11);
ROLLBACK;
-- and the writes of those triggers count: this transaction wrote both
-- domains
DELETE FROM ec_order WHERE id = 11;

\c - :regress_superuser
SELECT domains, count, sample_queries FROM migration_split.cross_domain_transactions
 WHERE 'ec_orders' = ANY (domains);
-- nothing else of the other domain was changed
SELECT id, name FROM ec_customer ORDER BY id;
SELECT customer_id FROM ec_payment ORDER BY 1;
SELECT order_id, kind FROM ec_line ORDER BY 1;
DROP TABLE ec_line, ec_audit, ec_ruled, ec_payment, ec_order, ec_customer;
DROP FUNCTION ec_line_read(), ec_line_write(), ec_line_truncate(),
	ec_line_lazy(), ec_line_audit(), ec_names();
DELETE FROM migration_split.domains WHERE domain LIKE 'ec\_%';
REVOKE CREATE ON SCHEMA public FROM ec_orders_svc;
ALTER ROLE ec_orders_svc RESET ALL;
DROP ROLE ec_orders_svc;
