-- suggest_moves(): tables whose move to another domain removes more
-- crossings than it adds, from foreign keys, generic relations and the
-- statements the monitor saw.  A database of its own.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_moves;
\c regress_ms_moves
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;
SELECT migration_split.reset();

SELECT migration_split.create_domain(d) FROM unnest(ARRAY['orders', 'billing', 'users']) d;
CREATE TABLE users_user (id int PRIMARY KEY);
CREATE TABLE orders_order (id int PRIMARY KEY, user_id int REFERENCES users_user);
CREATE TABLE orders_line (id int PRIMARY KEY, order_id int REFERENCES orders_order);
-- misplaced: tagged billing, but tied to orders three times and to
-- billing once
CREATE TABLE order_discount (id int PRIMARY KEY, order_id int REFERENCES orders_order,
	line_id int REFERENCES orders_line, other_order_id int REFERENCES orders_order);
CREATE TABLE billing_invoice (id int PRIMARY KEY, discount_id int REFERENCES order_discount);
-- balanced: one tie each way, no move
CREATE TABLE billing_refund (id int PRIMARY KEY, order_id int REFERENCES orders_order,
	invoice_id int REFERENCES billing_invoice);
-- a partition moves with its table: its ties count for the table
CREATE TABLE billing_fee (id int, user_id int REFERENCES users_user) PARTITION BY RANGE (id);
CREATE TABLE billing_fee_1 PARTITION OF billing_fee FOR VALUES FROM (0) TO (100);
-- a generic relation tips the balance
CREATE TABLE django_content_type (id int PRIMARY KEY, app_label text, model text);
CREATE TABLE billing_note (id int PRIMARY KEY, invoice_id int REFERENCES billing_invoice,
	content_type_id int REFERENCES django_content_type, object_id int);
SELECT migration_split.assign_table(t, d)
  FROM (VALUES ('users_user', 'users'), ('orders_order', 'orders'), ('orders_line', 'orders'),
			   ('order_discount', 'billing'), ('billing_invoice', 'billing'),
			   ('billing_refund', 'billing'), ('billing_fee', 'billing'),
			   ('billing_note', 'billing')) v(t, d);
INSERT INTO django_content_type VALUES (1, 'orders', 'order'), (2, 'orders', 'line');
INSERT INTO billing_note VALUES (1, NULL, 1, 1), (2, NULL, 2, 1);

SELECT * FROM migration_split.suggest_moves();

-- a statement joining billing_refund with orders only tips it over
SELECT count(*) FROM billing_refund r JOIN orders_order o ON o.id = r.order_id;
SELECT count(*) FROM billing_refund r JOIN orders_order o ON o.id = r.order_id;
SELECT * FROM migration_split.suggest_moves() WHERE rel = 'billing_refund'::regclass;

-- moving the suggested table removes its crossings
SELECT migration_split.assign_table('order_discount', 'orders');
SELECT rel, from_domain, to_domain FROM migration_split.suggest_moves();

-- a reader of the monitor's statements without USAGE on the schema of a
-- table they name: the statement still counts (names are matched, not
-- looked up), no permission error
CREATE SCHEMA hidden_billing;
CREATE TABLE hidden_billing.credit (id int PRIMARY KEY);
SELECT migration_split.assign_table('hidden_billing.credit', 'billing');
SELECT count(*) FROM hidden_billing.credit c JOIN orders_order o ON o.id = c.id;
CREATE ROLE regress_ms_moves_reader IN ROLE migration_split_admin, pg_read_all_stats;
SELECT 'hidden_billing.credit'::regclass::oid AS credit_oid \gset
SET ROLE regress_ms_moves_reader;
SELECT rel, from_domain, to_domain, detail FROM migration_split.suggest_moves()
 WHERE rel::oid = :credit_oid;
RESET ROLE;
SELECT rel, from_domain, to_domain, detail FROM migration_split.suggest_moves()
 WHERE rel = 'hidden_billing.credit'::regclass;
DROP ROLE regress_ms_moves_reader;

\c contrib_regression
DROP DATABASE regress_ms_moves;
