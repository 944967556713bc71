-- extraction_plan(): readiness, every tie to cut, runtime crossings, then
-- the job's commands; as rows or as one Markdown document.  A database of
-- its own, so that the other suites' tables do not show.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_plan;
\c regress_ms_plan
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;
SELECT migration_split.reset();

SELECT migration_split.create_domain(d) FROM unnest(ARRAY['billing', 'orders', 'users', 'empty']) d;
CREATE TABLE users_user (id int PRIMARY KEY, name text);
CREATE TABLE orders_order (id int PRIMARY KEY, user_id int REFERENCES users_user,
	note text);
CREATE TABLE billing_invoice (id int PRIMARY KEY,
	order_id int CONSTRAINT invoice_order_fkey REFERENCES orders_order ON DELETE CASCADE,
	"total|net" numeric);
CREATE TABLE billing_payment (id int PRIMARY KEY, invoice_id int REFERENCES billing_invoice);
CREATE TABLE orders_archive () INHERITS (orders_order);
CREATE VIEW "billing|report" AS SELECT i.id, o.note FROM billing_invoice i JOIN orders_order o ON o.id = i.order_id;
CREATE TABLE django_content_type (id int PRIMARY KEY, app_label text, model text);
CREATE TABLE orders_comment (id int PRIMARY KEY,
	content_type_id int REFERENCES django_content_type, object_id int);
SELECT migration_split.assign_table(t, d)
  FROM (VALUES ('users_user', 'users'), ('orders_order', 'orders'), ('orders_comment', 'orders'),
			   ('billing_invoice', 'billing'), ('billing_payment', 'billing'),
			   ('orders_archive', 'billing')) v(t, d);
INSERT INTO django_content_type VALUES (1, 'billing', 'invoice');
INSERT INTO users_user VALUES (1, 'u');
INSERT INTO orders_order VALUES (1, 1, 'n');
INSERT INTO billing_invoice VALUES (1, 1, 10);
INSERT INTO orders_comment VALUES (1, 1, 1), (2, 1, 1);
SELECT migration_split.loosen_foreign_key('billing_invoice', 'invoice_order_fkey', 'none');
-- a crossing the monitor sees
SELECT count(*) FROM billing_invoice i JOIN orders_order o ON o.id = i.order_id;

-- (the runtime rows carry a query id and a time: their start is shown)
SELECT step, kind, CASE WHEN kind = 'query' THEN 'query id ...' ELSE object END AS object,
	   action, CASE WHEN kind = 'query' THEN left(detail, 34) ELSE detail END AS detail
  FROM migration_split.extraction_plan('billing');
-- the readiness numbers of a domain without ties
SELECT step, kind, object, action FROM migration_split.extraction_plan('empty');
SELECT detail FROM migration_split.extraction_plan('empty') WHERE object = 'size';
SELECT detail FROM migration_split.extraction_plan('empty') WHERE object = 'expected copy time';
-- one of a kind is said in the singular; a copy of less than a second is
-- "under 1 s", longer ones rounded (the size is pg_class's, as of the
-- last VACUUM or ANALYZE: set by hand here, in a transaction undone)
ANALYZE users_user;
SELECT object, detail FROM migration_split.extraction_plan('users') WHERE step <= 4;
SELECT detail FROM migration_split.extraction_plan('users', 'markdown');
BEGIN;
UPDATE pg_class SET relpages = 7321 WHERE oid = 'users_user'::regclass;
SELECT total_size FROM migration_split.report_domain_sizes() WHERE domain = 'users';
SELECT detail FROM migration_split.extraction_plan('users') WHERE object IN ('size', 'expected copy time');
UPDATE pg_class SET relpages = 7322 WHERE oid = 'users_user'::regclass;
SELECT total_size FROM migration_split.report_domain_sizes() WHERE domain = 'users';
SELECT detail FROM migration_split.extraction_plan('users') WHERE object = 'expected copy time';
UPDATE pg_class SET relpages = 874508 WHERE oid = 'users_user'::regclass;
SELECT total_size FROM migration_split.report_domain_sizes() WHERE domain = 'users';
SELECT detail FROM migration_split.extraction_plan('users') WHERE object = 'expected copy time';
UPDATE pg_class SET relpages = 875245 WHERE oid = 'users_user'::regclass;
SELECT total_size FROM migration_split.report_domain_sizes() WHERE domain = 'users';
SELECT detail FROM migration_split.extraction_plan('users') WHERE object = 'expected copy time';
UPDATE pg_class SET relpages = 52734372 WHERE oid = 'users_user'::regclass;
SELECT total_size FROM migration_split.report_domain_sizes() WHERE domain = 'users';
SELECT detail FROM migration_split.extraction_plan('users') WHERE object = 'expected copy time';
ROLLBACK;
-- Markdown: one row; | in names is escaped
SELECT step, kind, object, action FROM migration_split.extraction_plan('orders', format => 'markdown');
SELECT line FROM migration_split.extraction_plan('orders', 'Markdown') p,
	   regexp_split_to_table(p.detail, E'\n') WITH ORDINALITY AS l(line, n)
 WHERE line NOT LIKE '%| query |%'
 ORDER BY n;
SELECT count(*) AS query_lines FROM migration_split.extraction_plan('orders', 'Markdown') p,
	   regexp_split_to_table(p.detail, E'\n') AS l(line)
 WHERE line LIKE '%| query | query id % | move the statement''s other tables behind an API, or split the statement | 1 call, domains billing, orders, %';

-- a cell of the Markdown plan shows names and query texts (written by
-- other users) as text, never as markup: no HTML, links or images
SELECT migration_split.markdown_cell(E'a|b\\c <img src=x onerror=alert(1)> & ![i](http://x/t.png) [l](http://x)\r\nnext');

-- errors
SELECT * FROM migration_split.extraction_plan('nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.extraction_plan('Billing');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.extraction_plan(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.extraction_plan('billing', 'html');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.extraction_plan('billing', NULL);
\echo :LAST_ERROR_SQLSTATE

-- readable by everyone, like the other reports
CREATE ROLE regress_ms_plan_reader;
SET ROLE regress_ms_plan_reader;
SELECT count(*) > 0 AS has_steps FROM migration_split.extraction_plan('billing');
RESET ROLE;

-- a loose key whose clean-ups keep failing: the step says what to do
-- about them, not only to process the queue again
SELECT migration_split.tighten_foreign_key('billing_invoice', 'invoice_order_fkey');
SELECT migration_split.loosen_foreign_key('billing_invoice', 'invoice_order_fkey', 'cascade');
INSERT INTO billing_payment VALUES (1, 1);
DELETE FROM orders_order WHERE id = 1;
SET client_min_messages = error;
SELECT migration_split.process_loose_foreign_keys();
RESET client_min_messages;
SELECT pending, failing FROM migration_split.loose_foreign_keys;
SELECT step, kind, object, action, regexp_replace(detail, 'oldest .*', 'oldest ...') AS detail
  FROM migration_split.extraction_plan('billing') WHERE kind = 'loose foreign key';
-- once the cause is gone, the next run cleans up
DELETE FROM billing_payment;
SELECT migration_split.process_loose_foreign_keys();
SELECT step, kind, object, action, regexp_replace(detail, 'oldest .*', 'oldest ...') AS detail
  FROM migration_split.extraction_plan('billing') WHERE kind = 'loose foreign key';

\c contrib_regression
DROP DATABASE regress_ms_plan;
DROP ROLE regress_ms_plan_reader;
