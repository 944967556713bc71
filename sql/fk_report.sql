-- cross_domain_foreign_keys: exactly the foreign keys whose two tables are
-- in different domains, with readable actions and column lists.
INSERT INTO migration_split.domains (domain) VALUES ('accounts'), ('orders'), ('inventory');

CREATE TABLE accounts_user (id int PRIMARY KEY, manager_id int REFERENCES accounts_user);
CREATE TABLE accounts_address (id int PRIMARY KEY,
	user_id int NOT NULL REFERENCES accounts_user ON DELETE CASCADE);
CREATE TABLE inventory_product (sku text, variant int, PRIMARY KEY (sku, variant));
CREATE TABLE "Orders Order" (
	id int PRIMARY KEY,
	"user" int REFERENCES accounts_user ON DELETE SET NULL ON UPDATE CASCADE
		DEFERRABLE INITIALLY DEFERRED,
	billing_user int,
	CONSTRAINT orders_order_billing_fkey FOREIGN KEY (billing_user)
		REFERENCES accounts_user (id) ON DELETE RESTRICT DEFERRABLE);
CREATE TABLE orders_orderitem (
	id int PRIMARY KEY,
	order_id int NOT NULL REFERENCES "Orders Order",
	sku text, variant int,
	CONSTRAINT orderitem_product_fkey FOREIGN KEY (variant, sku)
		REFERENCES inventory_product (variant, sku) ON DELETE SET DEFAULT);
-- ON DELETE SET NULL with a column list (PostgreSQL 15)
CREATE TABLE orders_note (
	tenant int, user_id int, body text,
	FOREIGN KEY (user_id) REFERENCES accounts_user ON DELETE SET NULL (user_id));
-- an unowned table referencing an owned one, and one referenced by it
CREATE TABLE django_admin_log (id int PRIMARY KEY,
	user_id int REFERENCES accounts_user);
CREATE TABLE django_content_type (id int PRIMARY KEY);
ALTER TABLE inventory_product ADD COLUMN content_type_id int
	REFERENCES django_content_type;
-- both ends unowned: not a crossing
CREATE TABLE django_session (id int PRIMARY KEY,
	content_type_id int REFERENCES django_content_type);

-- partitioned tables: one row per constraint, not per partition clone
CREATE TABLE inventory_stock (sku text, variant int, warehouse int,
	PRIMARY KEY (warehouse, sku, variant)) PARTITION BY LIST (warehouse);
CREATE TABLE inventory_stock_1 PARTITION OF inventory_stock FOR VALUES IN (1);
CREATE TABLE inventory_stock_2 PARTITION OF inventory_stock FOR VALUES IN (2);
CREATE TABLE orders_reservation (id int, warehouse int, sku text, variant int,
	FOREIGN KEY (warehouse, sku, variant) REFERENCES inventory_stock);
CREATE TABLE orders_shipment (id int, order_id int REFERENCES "Orders Order",
	placed_by int REFERENCES accounts_user) PARTITION BY HASH (id);
CREATE TABLE orders_shipment_0 PARTITION OF orders_shipment
	FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE orders_shipment_1 PARTITION OF orders_shipment
	FOR VALUES WITH (MODULUS 2, REMAINDER 1);

-- a schema and a quoted name
CREATE SCHEMA "Legacy";
CREATE TABLE "Legacy"."user ""copy""" (id int PRIMARY KEY,
	original int REFERENCES accounts_user);

INSERT INTO migration_split.ownership (rel, domain) VALUES
	('accounts_user', 'accounts'), ('accounts_address', 'accounts'),
	('"Orders Order"', 'orders'), ('orders_orderitem', 'orders'),
	('orders_note', 'orders'), ('orders_reservation', 'orders'),
	('orders_shipment', 'orders'),
	('inventory_product', 'inventory'), ('inventory_stock', 'inventory'),
	('"Legacy"."user ""copy"""', 'accounts');

-- 20 foreign key constraints in the catalog, 6 of them clones on partitions
SELECT count(*) AS all_fks, count(*) FILTER (WHERE conparentid = 0) AS declared
  FROM pg_constraint
 WHERE contype = 'f' AND connamespace <> 'migration_split'::regnamespace;

\x on
SELECT * FROM migration_split.cross_domain_foreign_keys;
\x off

-- inside one domain (self-reference, accounts_address -> accounts_user,
-- "Legacy" copy) and between two unowned tables: not reported
SELECT count(*) FROM migration_split.cross_domain_foreign_keys
 WHERE from_domain IS NOT DISTINCT FROM to_domain;

-- retagging moves a key in and out of the report
UPDATE migration_split.ownership SET domain = 'orders'
 WHERE rel = 'accounts_address'::regclass;
SELECT constraint_name, from_table, from_domain, to_table, to_domain
  FROM migration_split.cross_domain_foreign_keys
 WHERE from_table = 'accounts_address'::regclass;
DELETE FROM migration_split.ownership WHERE rel = 'inventory_product'::regclass;
SELECT constraint_name, from_table, from_domain, to_table, to_domain
  FROM migration_split.cross_domain_foreign_keys
 WHERE 'inventory_product'::regclass IN (from_table, to_table);

-- readable by everyone, and independent of the caller's search_path
CREATE ROLE regress_fk_reader;
SET ROLE regress_fk_reader;
SET search_path = pg_temp;
SELECT count(*) FROM migration_split.cross_domain_foreign_keys;
RESET search_path;
RESET ROLE;
DROP ROLE regress_fk_reader;

DROP SCHEMA "Legacy" CASCADE;
DROP TABLE django_session, orders_shipment, orders_reservation, inventory_stock,
	django_admin_log, orders_note, orders_orderitem, "Orders Order",
	inventory_product, django_content_type, accounts_address, accounts_user;
DELETE FROM migration_split.ownership;
DELETE FROM migration_split.domains;
