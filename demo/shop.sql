-- A small Django-style shop monolith for the migration_split demo: four
-- business apps (accounts, orders, inventory, notifications) on top of
-- Django's own tables, tied together the way real monoliths are: foreign
-- keys across apps, a report view joining two apps, a sequence shared
-- across apps, and a trigger of one app writing another app's table.

BEGIN;

-- Django's own tables (django.contrib.*)
CREATE TABLE django_content_type (
	id serial PRIMARY KEY,
	app_label varchar(100) NOT NULL,
	model varchar(100) NOT NULL,
	UNIQUE (app_label, model)
);
CREATE TABLE django_migrations (
	id bigserial PRIMARY KEY,
	app varchar(255) NOT NULL,
	name varchar(255) NOT NULL,
	applied timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE django_session (
	session_key varchar(40) PRIMARY KEY,
	session_data text NOT NULL,
	expire_date timestamptz NOT NULL
);
CREATE TABLE auth_permission (
	id serial PRIMARY KEY,
	name varchar(255) NOT NULL,
	content_type_id int NOT NULL REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	codename varchar(100) NOT NULL
);
CREATE TABLE auth_group (id serial PRIMARY KEY, name varchar(150) NOT NULL UNIQUE);
CREATE TABLE auth_group_permissions (
	id bigserial PRIMARY KEY,
	group_id int NOT NULL REFERENCES auth_group DEFERRABLE INITIALLY DEFERRED,
	permission_id int NOT NULL REFERENCES auth_permission DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE auth_user (
	id serial PRIMARY KEY,
	password varchar(128) NOT NULL,
	last_login timestamptz,
	is_superuser boolean NOT NULL,
	username varchar(150) NOT NULL UNIQUE,
	email varchar(254) NOT NULL,
	is_staff boolean NOT NULL,
	is_active boolean NOT NULL,
	date_joined timestamptz NOT NULL
);
CREATE TABLE auth_user_groups (
	id bigserial PRIMARY KEY,
	user_id int NOT NULL REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED,
	group_id int NOT NULL REFERENCES auth_group DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE auth_user_user_permissions (
	id bigserial PRIMARY KEY,
	user_id int NOT NULL REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED,
	permission_id int NOT NULL REFERENCES auth_permission DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE django_admin_log (
	id serial PRIMARY KEY,
	action_time timestamptz NOT NULL,
	object_id text,
	object_repr varchar(200) NOT NULL,
	action_flag smallint NOT NULL,
	change_message text NOT NULL,
	content_type_id int REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	user_id int NOT NULL REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED
);

-- accounts: the shop's customers (multi-table inheritance from auth.User)
CREATE TABLE accounts_user (
	user_ptr_id int PRIMARY KEY REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED,
	phone varchar(32) NOT NULL DEFAULT '',
	marketing_opt_in boolean NOT NULL DEFAULT false
);
CREATE TABLE accounts_address (
	id bigserial PRIMARY KEY,
	user_id int NOT NULL REFERENCES accounts_user DEFERRABLE INITIALLY DEFERRED,
	line1 varchar(200) NOT NULL,
	city varchar(100) NOT NULL,
	country char(2) NOT NULL
);

-- inventory
CREATE TABLE inventory_warehouse (
	id serial PRIMARY KEY,
	code varchar(16) NOT NULL UNIQUE,
	city varchar(100) NOT NULL
);
CREATE TABLE inventory_product (
	id bigserial PRIMARY KEY,
	sku varchar(32) NOT NULL UNIQUE,
	name varchar(200) NOT NULL,
	price numeric(10, 2) NOT NULL
);
CREATE TABLE inventory_stock (
	id bigserial PRIMARY KEY,
	product_id bigint NOT NULL REFERENCES inventory_product DEFERRABLE INITIALLY DEFERRED,
	warehouse_id int NOT NULL REFERENCES inventory_warehouse DEFERRABLE INITIALLY DEFERRED,
	quantity int NOT NULL CHECK (quantity >= 0),
	UNIQUE (product_id, warehouse_id)
);

-- orders
CREATE TABLE orders_coupon (
	id serial PRIMARY KEY,
	code varchar(32) NOT NULL UNIQUE,
	percent_off int NOT NULL
);
CREATE TABLE orders_order (
	id bigserial PRIMARY KEY,
	number bigint NOT NULL UNIQUE,
	customer_id int NOT NULL REFERENCES accounts_user DEFERRABLE INITIALLY DEFERRED,
	shipping_address_id bigint REFERENCES accounts_address ON DELETE SET NULL,
	status varchar(16) NOT NULL DEFAULT 'new',
	created_at timestamptz NOT NULL DEFAULT now()
);
-- the shop-wide document number: owned by orders, used by notifications too
CREATE SEQUENCE orders_order_number_seq START 100001 OWNED BY orders_order.number;
ALTER TABLE orders_order ALTER number SET DEFAULT nextval('orders_order_number_seq');
CREATE TABLE orders_orderitem (
	id bigserial PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES orders_order ON DELETE CASCADE,
	product_id bigint NOT NULL REFERENCES inventory_product DEFERRABLE INITIALLY DEFERRED,
	quantity int NOT NULL,
	unit_price numeric(10, 2) NOT NULL
);
CREATE TABLE orders_order_coupons (
	id bigserial PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES orders_order DEFERRABLE INITIALLY DEFERRED,
	coupon_id int NOT NULL REFERENCES orders_coupon DEFERRABLE INITIALLY DEFERRED
);

-- notifications
CREATE TABLE notifications_notification (
	id bigserial PRIMARY KEY,
	reference bigint NOT NULL DEFAULT nextval('orders_order_number_seq'),
	recipient_id int NOT NULL REFERENCES accounts_user DEFERRABLE INITIALLY DEFERRED,
	order_id bigint REFERENCES orders_order DEFERRABLE INITIALLY DEFERRED,
	kind varchar(32) NOT NULL,
	sent_at timestamptz
);

-- Placing an order line takes the goods out of stock and tells the
-- customer: one app's trigger writing two other apps' tables.
CREATE FUNCTION orders_orderitem_placed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE inventory_stock SET quantity = quantity - NEW.quantity
	 WHERE product_id = NEW.product_id AND warehouse_id = 1;
	INSERT INTO notifications_notification (recipient_id, order_id, kind)
	SELECT o.customer_id, o.id, 'order_line_added'
	  FROM orders_order o WHERE o.id = NEW.order_id;
	RETURN NEW;
END
$$;
CREATE TRIGGER orderitem_placed AFTER INSERT ON orders_orderitem
	FOR EACH ROW EXECUTE FUNCTION orders_orderitem_placed();

-- A report the back office reads: orders with what is left in stock.
CREATE VIEW order_fulfilment AS
SELECT o.number, o.status, p.sku, i.quantity AS ordered, s.quantity AS in_stock
  FROM orders_order o
  JOIN orders_orderitem i ON i.order_id = o.id
  JOIN inventory_product p ON p.id = i.product_id
  LEFT JOIN inventory_stock s ON s.product_id = p.id AND s.warehouse_id = 1;

-- What Django's migrate would have recorded.
INSERT INTO django_content_type (app_label, model) VALUES
	('admin', 'logentry'), ('auth', 'permission'), ('auth', 'group'), ('auth', 'user'),
	('contenttypes', 'contenttype'), ('sessions', 'session'),
	('accounts', 'user'), ('accounts', 'address'),
	('inventory', 'warehouse'), ('inventory', 'product'), ('inventory', 'stock'),
	('orders', 'coupon'), ('orders', 'order'), ('orders', 'orderitem'),
	('notifications', 'notification');
INSERT INTO django_migrations (app, name) VALUES
	('contenttypes', '0001_initial'), ('auth', '0001_initial'), ('admin', '0001_initial'),
	('sessions', '0001_initial'), ('accounts', '0001_initial'), ('inventory', '0001_initial'),
	('orders', '0001_initial'), ('orders', '0002_coupons'), ('notifications', '0001_initial');
INSERT INTO auth_permission (name, content_type_id, codename)
SELECT 'Can ' || a || ' ' || ct.model, ct.id, a || '_' || ct.model
  FROM django_content_type ct, unnest(ARRAY['add', 'change', 'delete', 'view']) a;
INSERT INTO auth_group (name) VALUES ('support'), ('warehouse');

-- Some data.
INSERT INTO auth_user (password, is_superuser, username, email, is_staff, is_active, date_joined)
SELECT 'pbkdf2_sha256$x', i = 1, 'user' || i, 'user' || i || '@example.com', i <= 2, true,
	   now() - i * interval '3 days'
  FROM generate_series(1, 50) i;
INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1), (2, 2);
INSERT INTO accounts_user (user_ptr_id, phone) SELECT id, '+41 44 000 ' || id FROM auth_user WHERE id > 2;
INSERT INTO accounts_address (user_id, line1, city, country)
SELECT user_ptr_id, user_ptr_id || ' Main Street', 'Zurich', 'CH' FROM accounts_user;
INSERT INTO inventory_warehouse (code, city) VALUES ('ZRH', 'Zurich'), ('BSL', 'Basel');
INSERT INTO inventory_product (sku, name, price)
SELECT 'SKU-' || i, 'Product ' || i, 5 + i % 40 FROM generate_series(1, 40) i;
INSERT INTO inventory_stock (product_id, warehouse_id, quantity)
SELECT p.id, w.id, 1000 FROM inventory_product p, inventory_warehouse w;
INSERT INTO orders_coupon (code, percent_off) VALUES ('WELCOME', 10), ('SPRING', 15);
INSERT INTO orders_order (customer_id, shipping_address_id, status)
SELECT u.user_ptr_id, a.id, (ARRAY['new', 'paid', 'shipped'])[1 + u.user_ptr_id % 3]
  FROM accounts_user u JOIN accounts_address a ON a.user_id = u.user_ptr_id;
INSERT INTO orders_orderitem (order_id, product_id, quantity, unit_price)
SELECT o.id, 1 + (o.id * 7 + k) % 40, 1 + k, 9.90 FROM orders_order o, generate_series(0, 2) k;
INSERT INTO orders_order_coupons (order_id, coupon_id) SELECT id, 1 FROM orders_order WHERE id % 5 = 0;
INSERT INTO django_session VALUES ('abc123', 'e30=', now() + interval '2 weeks');
INSERT INTO django_admin_log (action_time, object_id, object_repr, action_flag, change_message,
							  content_type_id, user_id)
SELECT now(), '1', 'Order 100001', 2, '[]', id, 1 FROM django_content_type WHERE model = 'order';

COMMIT;
ANALYZE;
