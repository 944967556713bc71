-- Ownership functions and views: domains, tags, and how tags follow tables
-- through renames, drops, partitions, inheritance, TOAST and sequences.
CREATE FUNCTION pg_temp.owners()
RETURNS TABLE (rel regclass, schema_name name, table_name name, domain text, assigned_by name)
LANGUAGE sql AS $$
	SELECT rel, schema_name, table_name, domain, assigned_by
	  FROM migration_split.table_owners ORDER BY rel::text $$;

SELECT migration_split.create_domain('orders', 'Orders and checkout');
SELECT migration_split.create_domain('inventory');
SELECT migration_split.create_domain('_legacy_2');
SELECT domain, description, created_by FROM migration_split.domains ORDER BY domain;

CREATE TABLE orders_order (id serial PRIMARY KEY, note text);
CREATE TABLE orders_orderitem (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	order_id int REFERENCES orders_order);
CREATE TABLE inventory_product (id int PRIMARY KEY, name text);
CREATE TABLE inventory_stock (product_id int, qty int);
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."Order Lines" (id int);

-- tag one table, then a pattern; assign_tables counts what it tagged
SELECT migration_split.assign_table('orders_order', 'orders');
SELECT migration_split.assign_tables('inventory%', 'inventory');
SELECT migration_split.assign_tables('inventory%', 'inventory');   -- already done: 0
SELECT migration_split.assign_tables('Order%', 'orders', 'Sales Dept');
SELECT migration_split.assign_tables('nothing%', 'orders');
SELECT * FROM pg_temp.owners();
SELECT rel, migration_split.table_domain(rel) FROM pg_temp.owners();
SELECT count(*) AS recent FROM migration_split.table_owners
 WHERE assigned_at > now() - interval '1 hour';

-- re-assigning moves a table; assigning it to its own domain changes nothing
SELECT migration_split.assign_table('inventory_stock', 'orders');
SELECT migration_split.table_domain('inventory_stock');
SELECT assigned_at AS before FROM migration_split.table_owners
 WHERE rel = 'inventory_stock'::regclass \gset
SELECT migration_split.assign_table('inventory_stock', 'orders');
SELECT assigned_at = :'before' AS unchanged FROM migration_split.table_owners
 WHERE rel = 'inventory_stock'::regclass;

-- TOAST tables and owned sequences (serial, identity, OWNED BY) follow
-- their table; a free-standing sequence belongs to no domain
CREATE SEQUENCE orders_ref_seq OWNED BY orders_order.note;
CREATE SEQUENCE shared_seq;
SELECT r.rel, r.domain, r.tagged_rel, r.via
  FROM migration_split.relation_domains r
 WHERE r.tagged_rel IN ('orders_order'::regclass, 'orders_orderitem'::regclass)
   AND r.via <> 'toast'
 ORDER BY r.rel::text;
SELECT migration_split.table_domain(c.reltoastrelid::regclass) AS toast_domain,
	   migration_split.table_domain('shared_seq') AS shared_seq_domain
  FROM pg_class c WHERE c.oid = 'orders_order'::regclass;

-- unowned tables: orders_orderitem only (the other tables are tagged)
SELECT rel, schema_name, table_name, partitioned FROM migration_split.unowned_tables
 WHERE schema_name IN ('public', 'Sales Dept') ORDER BY rel::text;

-- a rename or a move to another schema keeps the tag
ALTER TABLE orders_order RENAME TO orders_purchase;
ALTER TABLE "Sales Dept"."Order Lines" SET SCHEMA public;
SELECT * FROM pg_temp.owners();

-- a drop removes the tag, also through DROP SCHEMA ... CASCADE
CREATE SCHEMA scratch;
CREATE TABLE scratch.tagged (id int);
SELECT migration_split.assign_table('scratch.tagged', '_legacy_2');
SELECT oid AS dropped_oid FROM pg_class WHERE oid = 'scratch.tagged'::regclass \gset
DROP SCHEMA scratch CASCADE;
DROP TABLE inventory_stock;
SELECT * FROM pg_temp.owners();
SELECT count(*) AS stale_tags FROM migration_split.ownership
 WHERE rel::oid = :dropped_oid OR NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = rel::oid);

-- partitions follow their root, at any depth, also when attached later;
-- a detached partition is a table of its own, with no domain
CREATE TABLE orders_event (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE orders_event_2026 PARTITION OF orders_event
	FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY LIST (id);
CREATE TABLE orders_event_2026_a PARTITION OF orders_event_2026 FOR VALUES IN (1);
SELECT migration_split.assign_table('orders_event', 'orders');
CREATE TABLE orders_event_2025 (id int, at date);
ALTER TABLE orders_event ATTACH PARTITION orders_event_2025
	FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT rel, domain, tagged_rel, via FROM migration_split.relation_domains
 WHERE tagged_rel = 'orders_event'::regclass AND via <> 'toast' ORDER BY rel::text;
SELECT migration_split.table_domain('orders_event_2026_a'),
	   migration_split.table_domain('orders_event_2025');
ALTER TABLE orders_event DETACH PARTITION orders_event_2025;
SELECT migration_split.table_domain('orders_event_2025');
SELECT rel FROM migration_split.unowned_tables WHERE schema_name = 'public' ORDER BY rel::text;
-- dropping a partition leaves the root's tag alone
DROP TABLE orders_event_2026_a;
SELECT * FROM pg_temp.owners() WHERE rel = 'orders_event'::regclass;

-- inheritance children follow their first parent unless tagged themselves
CREATE TABLE inventory_item (id int);
CREATE TABLE inventory_item_special (extra text) INHERITS (inventory_item);
CREATE TABLE inventory_item_legacy () INHERITS (inventory_item);
SELECT migration_split.assign_table('inventory_item', 'inventory');
SELECT migration_split.assign_table('inventory_item_legacy', '_legacy_2');
SELECT rel, domain, tagged_rel, via FROM migration_split.relation_domains
 WHERE rel::text LIKE 'inventory_item%' ORDER BY rel::text;

-- the cache follows ALTER TABLE ... INHERIT / NO INHERIT: a grandchild and
-- an owned sequence resolved before take the new parent's domain
CREATE TABLE inventory_bin (id serial);
CREATE TABLE inventory_bin_small () INHERITS (inventory_bin);
SELECT migration_split.table_domain('inventory_bin_small') AS grandchild,
	   migration_split.table_domain('inventory_bin_id_seq') AS sequence;
ALTER TABLE inventory_bin INHERIT inventory_item;
SELECT migration_split.table_domain('inventory_bin_small') AS grandchild,
	   migration_split.table_domain('inventory_bin_id_seq') AS sequence;
ALTER TABLE inventory_bin NO INHERIT inventory_item;
SELECT migration_split.table_domain('inventory_bin_small') AS grandchild,
	   migration_split.table_domain('inventory_bin_id_seq') AS sequence;
ALTER TABLE inventory_bin INHERIT inventory_item;

-- ... and ALTER SEQUENCE ... OWNED BY
CREATE SEQUENCE inventory_free_seq;
SELECT migration_split.table_domain('inventory_free_seq') AS free;
ALTER SEQUENCE inventory_free_seq OWNED BY inventory_item.id;
SELECT migration_split.table_domain('inventory_free_seq') AS owned;
ALTER SEQUENCE inventory_free_seq OWNED BY NONE;
SELECT migration_split.table_domain('inventory_free_seq') AS free_again;

-- more shapes for the agreement check below: identity and serial columns
-- and indexes of a partitioned table, a second inheritance parent, a
-- materialized view tagged directly in the catalog, a partition attached
-- with a tag of its own
CREATE TABLE orders_line (id int GENERATED ALWAYS AS IDENTITY, n serial, note text,
	PRIMARY KEY (id, n)) PARTITION BY HASH (id);
CREATE TABLE orders_line_0 PARTITION OF orders_line FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE orders_line_1 (id int NOT NULL, n int NOT NULL DEFAULT 0, note text);
SELECT migration_split.assign_table('orders_line', 'orders');
SELECT migration_split.assign_table('orders_line_1', 'inventory');
ALTER TABLE orders_line ATTACH PARTITION orders_line_1 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE inventory_mixed () INHERITS (orders_event_2025, inventory_item);
CREATE MATERIALIZED VIEW inventory_mv AS SELECT repeat('x', 10000) AS big;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('inventory_mv', 'inventory');
SELECT rel, domain, tagged_rel, via FROM migration_split.relation_domains
 WHERE rel::text LIKE 'orders_line%' OR rel::text LIKE 'inventory_m%' ORDER BY rel::text;

-- the set-oriented view and the backend cache agree for every relation
SELECT count(*) AS relations_with_domain FROM migration_split.relation_domains;
SELECT c.oid::regclass, c.relkind, migration_split.table_domain(c.oid) AS cache,
	   r.domain AS view
  FROM pg_class c LEFT JOIN migration_split.relation_domains r ON r.rel = c.oid
 WHERE migration_split.table_domain(c.oid) IS DISTINCT FROM r.domain;
SELECT count(*) AS duplicates FROM (SELECT rel FROM migration_split.relation_domains
	GROUP BY rel HAVING count(*) > 1) d;
-- the reports read relation_domains from the cache (report_relation_domains):
-- the same rows, with the same tagged relation and rule
SELECT count(*) AS report_differs
  FROM ((SELECT rel::oid, domain, tagged_rel::oid, via FROM migration_split.relation_domains
		 EXCEPT SELECT * FROM migration_split.report_relation_domains())
		UNION ALL
		(SELECT * FROM migration_split.report_relation_domains()
		 EXCEPT SELECT rel::oid, domain, tagged_rel::oid, via FROM migration_split.relation_domains)) d;
-- and report_domain(), their per-row lookup, agrees with table_domain();
-- an oid that is no relation has no domain (table_domain() raises an error)
SELECT count(*) AS report_domain_differs FROM pg_class c
 WHERE migration_split.report_domain(c.oid) IS DISTINCT FROM migration_split.table_domain(c.oid);
SELECT migration_split.report_domain(0) IS NULL AS no_relation;

-- unassign, then drop domains (force removes remaining tags)
SELECT migration_split.unassign_table('inventory_item_legacy');
SELECT migration_split.table_domain('inventory_item_legacy');
SELECT migration_split.drop_domain('_legacy_2');
SELECT migration_split.drop_domain('inventory', force => true);
SELECT * FROM pg_temp.owners();
SELECT domain FROM migration_split.domains ORDER BY domain;

-- DDL under session_replication_role = replica (a restore, a replication
-- tool) fires the extension's event triggers too: a table dropped that way
-- loses its tag, no tag is left on a dropped OID
CREATE TABLE replica_dropped (id int);
SELECT migration_split.assign_table('replica_dropped', 'orders');
SET session_replication_role = replica;
DROP TABLE replica_dropped;
RESET session_replication_role;
SELECT count(*) AS tags_of_dropped_tables
  FROM migration_split.ownership o
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = o.rel::oid);
SELECT evtname, evtenabled FROM pg_event_trigger
 WHERE evtname LIKE 'migration\_split\_%' ORDER BY evtname COLLATE "C";

-- clean up for the suites that follow
DROP MATERIALIZED VIEW inventory_mv;
DROP TABLE orders_purchase, orders_orderitem, inventory_product, "Order Lines",
	orders_event, orders_event_2025, inventory_item, orders_line CASCADE;
DROP SEQUENCE shared_seq, inventory_free_seq;
DROP SCHEMA "Sales Dept";
SELECT migration_split.drop_domain('orders');
SELECT count(*) AS tags_left FROM migration_split.ownership;
