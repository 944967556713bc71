-- domain_summary: per domain, size and ties, and readiness at a glance.
INSERT INTO migration_split.domains (domain)
VALUES ('accounts'), ('orders'), ('inventory'), ('notifications'), ('empty');

CREATE TABLE accounts_user (id serial PRIMARY KEY, email text);
CREATE TABLE accounts_group (id int PRIMARY KEY);
CREATE TABLE orders_order (id int PRIMARY KEY, user_id int REFERENCES accounts_user,
	note text) PARTITION BY RANGE (id);
CREATE TABLE orders_order_1 PARTITION OF orders_order FOR VALUES FROM (0) TO (1000);
CREATE TABLE orders_order_2 PARTITION OF orders_order FOR VALUES FROM (1000) TO (2000);
ALTER TABLE orders_order ALTER COLUMN note SET STORAGE EXTERNAL;   -- always TOASTed
CREATE TABLE orders_orderitem (id int, order_id int REFERENCES orders_order);
CREATE TABLE inventory_stock (sku text PRIMARY KEY, n int);
CREATE TABLE notifications_notification (id int,
	user_id int REFERENCES accounts_user, body text);
CREATE VIEW order_emails AS
	SELECT o.id, u.email FROM orders_order o JOIN accounts_user u ON u.id = o.user_id;
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('accounts_user', 'accounts'), ('accounts_group', 'accounts'),
	('orders_order', 'orders'), ('orders_orderitem', 'orders'),
	('inventory_stock', 'inventory'),
	('notifications_notification', 'notifications');

INSERT INTO accounts_user (email) SELECT 'u' || i FROM generate_series(1, 100) i;
INSERT INTO orders_order SELECT i, 1 + i % 100, repeat('x', 3000) FROM generate_series(1, 1500) i;
INSERT INTO orders_orderitem SELECT i, 1 + i % 1500 FROM generate_series(1, 3000) i;
-- inventory_stock and notifications: never analyzed, no estimate
ANALYZE accounts_user, accounts_group, orders_order, orders_orderitem;

-- everything but the sizes, which depend on the platform
SELECT domain, tables, estimated_rows, fks_out, fks_in, dependencies,
	   crossing_queries, crossing_calls, crossing_transactions, last_violation,
	   blockers, ready
  FROM migration_split.domain_summary;

-- the counts agree with the reports they summarize (no rows)
WITH fo AS (SELECT from_domain AS domain, count(*) AS n
			  FROM migration_split.cross_domain_foreign_keys GROUP BY 1),
	 fi AS (SELECT to_domain AS domain, count(*) AS n
			  FROM migration_split.cross_domain_foreign_keys GROUP BY 1),
	 dp AS (SELECT e.domain, count(*) AS n
			  FROM migration_split.cross_domain_dependencies,
				   LATERAL (VALUES (from_domain), (to_domain)) e(domain)
			 GROUP BY 1)
SELECT s.domain, s.fks_out, s.fks_in, s.dependencies
  FROM migration_split.domain_summary s
  LEFT JOIN fo USING (domain) LEFT JOIN fi USING (domain) LEFT JOIN dp USING (domain)
 WHERE s.fks_out <> coalesce(fo.n, 0) OR s.fks_in <> coalesce(fi.n, 0)
	OR s.dependencies <> coalesce(dp.n, 0);

-- sizes: tables with their indexes, TOAST and owned sequences, partitions
-- counted once (the partitioned table itself has no storage), at
-- pg_class.relpages (a sequence is one block): an estimate as of the last
-- VACUUM or ANALYZE, close to the main forks' sizes after VACUUM ANALYZE
-- (TOAST indexes are not analyzed; free space and visibility maps are not
-- counted)
CREATE FUNCTION pg_temp.rels_of(rels regclass[]) RETURNS SETOF oid LANGUAGE sql AS $$
	WITH t AS (SELECT r::oid AS oid FROM unnest(rels) r
			   UNION ALL
			   SELECT c.reltoastrelid FROM pg_class c
				WHERE c.oid = ANY (rels) AND c.reltoastrelid <> 0)
	SELECT t.oid FROM t
	UNION ALL
	SELECT i.indexrelid FROM pg_index i JOIN t ON i.indrelid = t.oid
$$;
CREATE FUNCTION pg_temp.pages(rels regclass[]) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(CASE WHEN c.relkind = 'S' THEN 1 ELSE c.relpages END)::bigint * 8192
	  FROM pg_temp.rels_of(rels) r JOIN pg_class c ON c.oid = r
$$;
CREATE FUNCTION pg_temp.main_forks(rels regclass[]) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(pg_relation_size(r, 'main'))::bigint FROM pg_temp.rels_of(rels) r
$$;
VACUUM ANALYZE accounts_user, accounts_group, orders_order, orders_orderitem, inventory_stock,
	notifications_notification;
SELECT s.domain,
	   s.total_size = pg_temp.pages(x.rels) AS size_matches,
	   s.total_size BETWEEN 0.9 * pg_temp.main_forks(x.rels) AND pg_temp.main_forks(x.rels) AS close,
	   s.total_size_pretty = pg_size_pretty(s.total_size) AS pretty_matches,
	   s.total_size > 0 AS nonzero
  FROM migration_split.domain_summary s
  JOIN (VALUES ('accounts', ARRAY['accounts_user', 'accounts_group', 'accounts_user_id_seq']::regclass[]),
			   ('orders', ARRAY['orders_order_1', 'orders_order_2', 'orders_orderitem']::regclass[]),
			   ('inventory', ARRAY['inventory_stock']::regclass[]),
			   ('notifications', ARRAY['notifications_notification']::regclass[]))
		AS x(domain, rels) USING (domain)
 ORDER BY s.domain;
-- TOAST counts: the order notes are stored out of line
SELECT toast > 0 AS toasted, s.total_size >= main + toast AS includes_toast
  FROM migration_split.domain_summary s,
	   LATERAL (SELECT sum(pg_relation_size(c.oid)) AS main,
					   sum(pg_relation_size(c.reltoastrelid)) AS toast
				  FROM pg_class c
				 WHERE c.oid IN ('orders_order_1'::regclass, 'orders_order_2'::regclass)) x
 WHERE s.domain = 'orders';
SELECT total_size, total_size_pretty FROM migration_split.domain_summary WHERE domain = 'empty';

-- storage in another tablespace counts too, and an index moved there
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE regress_ms_space LOCATION '';
RESET allow_in_place_tablespaces;
CREATE TABLE inventory_history (id int PRIMARY KEY USING INDEX TABLESPACE regress_ms_space,
	at timestamptz) TABLESPACE regress_ms_space;
INSERT INTO migration_split.ownership VALUES ('inventory_history', 'inventory');
ALTER INDEX inventory_stock_pkey SET TABLESPACE regress_ms_space;
INSERT INTO inventory_history SELECT i, now() FROM generate_series(1, 1000) i;
-- never vacuumed or analyzed: the table's main fork as it is now (its
-- index as of CREATE INDEX)
SELECT total_size = pg_temp.pages('{inventory_stock}')
					+ pg_relation_size('inventory_history')
					+ (SELECT relpages FROM pg_class
						WHERE oid = 'inventory_history_pkey'::regclass)::bigint * 8192 AS size_matches,
	   pg_relation_size('inventory_history') > 0 AS history_counted
  FROM migration_split.domain_summary WHERE domain = 'inventory';
VACUUM ANALYZE inventory_history;   -- creates the free space and visibility maps
SELECT total_size = pg_temp.pages('{inventory_stock,inventory_history}') AS size_matches,
	   total_size > 40000 AS counted
  FROM migration_split.domain_summary WHERE domain = 'inventory';
-- storage_sizes() on its own: one row per relfilenode, all forks
SELECT f.tablespace = (SELECT oid FROM pg_tablespace WHERE spcname = 'regress_ms_space') AS in_space,
	   f.bytes = pg_relation_size('inventory_history', 'main')
				 + pg_relation_size('inventory_history', 'fsm')
				 + pg_relation_size('inventory_history', 'vm') AS all_forks,
	   pg_relation_size('inventory_history', 'fsm') > 0 AS has_fsm
  FROM migration_split.storage_sizes() f
 WHERE f.relfilenode = pg_relation_filenode('inventory_history');
SELECT count(*) FILTER (WHERE f.relfilenode IS NULL) AS missing
  FROM pg_class c LEFT JOIN migration_split.storage_sizes() f
	ON f.tablespace = c.reltablespace AND f.relfilenode = c.relfilenode
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 'S', 't', 'm');
DELETE FROM migration_split.ownership WHERE rel = 'inventory_history'::regclass;
DROP TABLE inventory_history;
ALTER INDEX inventory_stock_pkey SET TABLESPACE pg_default;
DROP TABLESPACE regress_ms_space;

-- untie accounts from notifications: fewer blockers
ALTER TABLE notifications_notification DROP CONSTRAINT notifications_notification_user_id_fkey;
DROP VIEW order_emails;
SELECT domain, fks_out, fks_in, dependencies, blockers, ready
  FROM migration_split.domain_summary;

-- ordered by domain whatever plan the join with the lifecycle gets
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT array_agg(domain) AS domains FROM (SELECT domain FROM migration_split.domain_summary) s;
RESET enable_mergejoin;
RESET enable_nestloop;

-- readable by everyone, and independent of the caller's search_path
CREATE ROLE regress_summary_reader;
SET ROLE regress_summary_reader;
SET search_path = pg_temp;
SELECT count(*) FROM migration_split.domain_summary;
RESET search_path;
RESET ROLE;
DROP ROLE regress_summary_reader;

DROP TABLE orders_orderitem, orders_order, notifications_notification,
	inventory_stock, accounts_group, accounts_user;
DELETE FROM migration_split.ownership;
DELETE FROM migration_split.domains;
