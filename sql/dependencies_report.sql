-- cross_domain_dependencies: ties between domains other than foreign keys.
INSERT INTO migration_split.domains (domain)
VALUES ('accounts'), ('orders'), ('inventory'), ('notifications'), ('reporting');

CREATE TABLE accounts_user (id serial PRIMARY KEY, email text);
CREATE TABLE orders_order (id serial PRIMARY KEY, user_id int, total numeric);
CREATE TABLE orders_orderitem (id int GENERATED ALWAYS AS IDENTITY, order_id int, sku text);
CREATE TABLE inventory_stock (sku text PRIMARY KEY, quantity int);
CREATE TABLE notifications_notification (id bigserial, user_id int, body text);
CREATE TABLE django_content_type (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('accounts_user', 'accounts'), ('orders_order', 'orders'),
	('orders_orderitem', 'orders'), ('inventory_stock', 'inventory'),
	('notifications_notification', 'notifications');

--
-- views and materialized views
--
-- one domain only: not a tie
CREATE VIEW orders_totals AS
	SELECT o.id, sum(i.id) AS items FROM orders_order o JOIN orders_orderitem i ON i.order_id = o.id
	 GROUP BY o.id;
CREATE VIEW accounts_emails AS SELECT id, email FROM accounts_user;
-- one domain and unowned tables: not a tie
CREATE VIEW orders_typed AS
	SELECT o.id, c.id AS content_type_id FROM orders_order o, django_content_type c;
-- two domains directly
CREATE VIEW customer_orders AS
	SELECT u.email, o.total FROM accounts_user u JOIN orders_order o ON o.user_id = u.id;
-- views of views: two domains only through other views, and directly too
CREATE VIEW order_report AS
	SELECT t.id, e.email FROM orders_totals t, accounts_emails e;
CREATE VIEW order_report_2 AS
	SELECT r.*, (SELECT count(*) FROM accounts_user) AS users FROM order_report r;
-- a materialized view reading three domains, in a subquery too
CREATE MATERIALIZED VIEW stock_by_user AS
	SELECT u.id, (SELECT sum(quantity) FROM inventory_stock) AS stock
	  FROM accounts_user u
	 WHERE EXISTS (SELECT FROM notifications_notification n WHERE n.user_id = u.id);
-- a materialized view tagged to a domain of its own, and a view reading it
CREATE MATERIALIZED VIEW reporting_daily AS SELECT count(*) AS orders FROM orders_order;
INSERT INTO migration_split.ownership VALUES ('reporting_daily', 'reporting');
CREATE VIEW reporting_with_users AS
	SELECT d.orders, (SELECT count(*) FROM accounts_user) AS users FROM reporting_daily d;

--
-- sequence defaults
--
-- another domain's serial sequence
ALTER TABLE orders_order ADD COLUMN legacy_user_id int
	DEFAULT nextval('accounts_user_id_seq');
-- a sequence owned by no table
CREATE SEQUENCE shared_number_seq;
ALTER TABLE inventory_stock ADD COLUMN number bigint DEFAULT nextval('shared_number_seq');
-- unowned table, unowned sequence: not a tie
ALTER TABLE django_content_type ALTER COLUMN id SET DEFAULT nextval('shared_number_seq');
-- partitioned table: reported once, not per partition
CREATE TABLE orders_event (id int DEFAULT nextval('notifications_notification_id_seq'),
	at date) PARTITION BY RANGE (at);
CREATE TABLE orders_event_2026 PARTITION OF orders_event
	FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO migration_split.ownership VALUES ('orders_event', 'orders');

--
-- triggers
--
CREATE FUNCTION orders_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- INSERT INTO accounts_user VALUES (0): a comment, not a write
	INSERT INTO public.notifications_notification (user_id, body)
		VALUES (NEW.user_id, 'order placed: INSERT INTO inventory_stock');
	UPDATE ONLY inventory_stock SET quantity = quantity - 1 WHERE sku = 'x';
	PERFORM 1 FROM accounts_user WHERE id = NEW.user_id FOR UPDATE;
	EXECUTE 'DELETE FROM accounts_user WHERE id = $1' USING NEW.user_id;
	UPDATE orders_order SET total = 0 WHERE id = -1;   -- its own domain
	RETURN NEW;
END
$$;
CREATE TRIGGER orders_notify AFTER INSERT ON orders_order
	FOR EACH ROW EXECUTE FUNCTION orders_notify();
-- the same function on a partitioned table: clones on partitions left out
CREATE TRIGGER event_notify AFTER INSERT ON orders_event
	FOR EACH ROW EXECUTE FUNCTION orders_notify();
-- unqualified names resolve with the function's own search_path
CREATE SCHEMA audit;
CREATE TABLE audit.log (at timestamptz, what text);
INSERT INTO migration_split.ownership VALUES ('audit.log', 'reporting');
CREATE FUNCTION stock_audit() RETURNS trigger LANGUAGE plpgsql
SET search_path = audit, pg_catalog AS $$
BEGIN
	INSERT INTO log VALUES (now(), TG_OP);
	RETURN NULL;
END
$$;
CREATE TRIGGER stock_audit AFTER UPDATE ON inventory_stock
	FOR EACH STATEMENT EXECUTE FUNCTION stock_audit();
-- a trigger writing only its own domain: not a tie
CREATE FUNCTION orderitem_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE orders_order SET total = total WHERE id = NEW.order_id;
	RETURN NEW;
END
$$;
CREATE TRIGGER orderitem_touch AFTER INSERT ON orders_orderitem
	FOR EACH ROW EXECUTE FUNCTION orderitem_touch();
-- a constraint trigger is a user trigger too; a trigger running a built-in
-- function (found from no pg_depend row, like the internal triggers of
-- foreign keys) writes nothing that can be seen
CREATE CONSTRAINT TRIGGER stock_notify AFTER INSERT ON inventory_stock
	DEFERRABLE FOR EACH ROW EXECUTE FUNCTION orders_notify();
CREATE TRIGGER order_unchanged BEFORE UPDATE ON orders_order
	FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();

--
-- inheritance and partitions
--
CREATE TABLE accounts_profile (id int);
CREATE TABLE notifications_profile () INHERITS (accounts_profile);
CREATE TABLE orders_profile () INHERITS (accounts_profile);
CREATE TABLE inventory_item (sku text);
CREATE TABLE audit.mixed () INHERITS (accounts_profile, inventory_item);
CREATE TABLE orders_event_2027 PARTITION OF orders_event
	FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO migration_split.ownership VALUES
	('accounts_profile', 'accounts'), ('inventory_item', 'inventory'),
	('notifications_profile', 'notifications'),   -- tagged to another domain
	('orders_event_2027', 'reporting');           -- a partition tagged apart
-- orders_profile follows its parent; audit.mixed its first parent, accounts

SELECT * FROM migration_split.cross_domain_dependencies;

-- what the trigger functions write, as far as their bodies show
SELECT * FROM migration_split.function_writes('orders_notify()');
SELECT * FROM migration_split.function_writes('stock_audit()');

--
-- function_writes() on its own
--
-- SQL standard bodies: exact, also in CTEs and sub-selects
CREATE FUNCTION close_order(int) RETURNS void LANGUAGE sql
BEGIN ATOMIC
	WITH gone AS (DELETE FROM orders_orderitem WHERE order_id = $1 RETURNING sku)
	UPDATE inventory_stock SET quantity = quantity + 1 WHERE sku IN (SELECT sku FROM gone);
	INSERT INTO notifications_notification (body) SELECT 'closed';
	SELECT 1 FROM accounts_user;
END;
SELECT * FROM migration_split.function_writes('close_order(int)');
CREATE FUNCTION merge_stock() RETURNS void LANGUAGE sql
BEGIN ATOMIC
	MERGE INTO inventory_stock s USING (SELECT 'x' AS sku) n ON s.sku = n.sku
		WHEN MATCHED THEN UPDATE SET quantity = 0
		WHEN NOT MATCHED THEN INSERT (sku) VALUES (n.sku);
END;
SELECT * FROM migration_split.function_writes('merge_stock()');
-- SQL string bodies and PL/pgSQL: static statements only
CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS $$
	TRUNCATE TABLE ONLY orders_order, public.orders_orderitem * , "inventory_stock";
	DELETE FROM ONLY accounts_user WHERE id IN (SELECT user_id FROM orders_order);
	MERGE INTO orders_order o USING accounts_user u ON o.user_id = u.id
		WHEN NOT MATCHED THEN DO NOTHING;
$$;
SELECT * FROM migration_split.function_writes('purge()');
CREATE FUNCTION upsert_stock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO inventory_stock AS s VALUES ('x', 1)
		ON CONFLICT (sku) DO UPDATE SET quantity = s.quantity + 1;
	INSERT INTO missing_table VALUES (1);   -- no such table: left out
	EXECUTE format('INSERT INTO %I VALUES (1)', 'accounts_user');
END
$$;
SELECT * FROM migration_split.function_writes('upsert_stock()');
-- a write right after THEN (IF, ELSIF, CASE branches of PL/pgSQL) is a
-- write; MERGE's WHEN ... THEN UPDATE SET is not another table
CREATE FUNCTION branch_writes(x int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF x = 1 THEN UPDATE orders_order SET user_id = NULL;
	ELSIF x = 2 THEN UPDATE ONLY inventory_stock SET quantity = 0;
	ELSE DELETE FROM notifications_notification;
	END IF;
	CASE WHEN x = 3 THEN UPDATE accounts_user SET id = id; ELSE NULL; END CASE;
	MERGE INTO orders_orderitem i USING accounts_user u ON i.order_id = u.id
		WHEN MATCHED THEN UPDATE SET sku = i.sku;
END
$$;
SELECT * FROM migration_split.function_writes('branch_writes(int)');
-- other languages, and a body the scanner rejects: nothing
SELECT count(*) FROM migration_split.function_writes('pg_catalog.now()');
SET check_function_bodies = off;
CREATE FUNCTION broken() RETURNS void LANGUAGE plpgsql AS $$
BEGIN INSERT INTO orders_order VALUES ('unterminated); END $$;
RESET check_function_bodies;
SELECT count(*) FROM migration_split.function_writes('broken()');
SELECT count(*) FROM migration_split.function_writes(NULL);

-- readable by everyone, and independent of the caller's search_path and
-- privileges (the same rows as above, audit.log included)
CREATE ROLE regress_dep_reader;
SET ROLE regress_dep_reader;
SET search_path = pg_temp;
SELECT kind, count(*) FROM migration_split.cross_domain_dependencies GROUP BY kind ORDER BY kind;
RESET search_path;
RESET ROLE;
DROP ROLE regress_dep_reader;

DROP FUNCTION close_order, merge_stock, purge, upsert_stock, branch_writes, broken;
DROP SCHEMA audit CASCADE;
DROP VIEW reporting_with_users, order_report_2, order_report, customer_orders,
	orders_typed, accounts_emails, orders_totals;
DROP MATERIALIZED VIEW stock_by_user, reporting_daily;
DROP TABLE accounts_user, orders_order, orders_orderitem, inventory_stock,
	notifications_notification, django_content_type, orders_event,
	notifications_profile, orders_profile, accounts_profile, inventory_item;
DROP SEQUENCE shared_number_seq;
DROP FUNCTION orders_notify, stock_audit, orderitem_touch;
DELETE FROM migration_split.ownership;
DELETE FROM migration_split.domains;
