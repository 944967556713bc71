-- The output plugin: every action, on tables of one domain, with other
-- domains' and unowned tables filtered out.  Every line is checked to be
-- valid JSON by casting it to jsonb.
INSERT INTO migration_split.domains (domain) VALUES ('dec_orders'), ('dec_billing');
CREATE TABLE orders_order (id bigint PRIMARY KEY, status text, note text);
CREATE TABLE billing_invoice (id int PRIMARY KEY, total numeric);
CREATE TABLE unowned (id int PRIMARY KEY);
INSERT INTO migration_split.ownership (rel, domain)
	VALUES ('orders_order', 'dec_orders'), ('billing_invoice', 'dec_billing');

SELECT 'init' FROM pg_create_logical_replication_slot('actions', 'migration_split');

-- The decoded lines, each proven to be one JSON object; relation and type
-- oids (which vary between runs) are shown as names.
CREATE FUNCTION slot_changes(VARIADIC opts text[] DEFAULT '{}')
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	m text[];
BEGIN
	FOR line IN SELECT c.data FROM pg_logical_slot_get_changes('actions', NULL, NULL,
		VARIADIC array['include-xids', '0'] || opts) c
	LOOP
		IF jsonb_typeof(line::jsonb) <> 'object' THEN
			RAISE 'not a JSON object: %', line;
		END IF;
		FOR m IN SELECT regexp_matches(line, '"(relid|typoid)":([0-9]+)([,}])', 'g') LOOP
			IF m[1] = 'relid' THEN
				line := replace(line, format('"relid":%s%s', m[2], m[3]),
								format('"relid":%s%s', m[2]::oid::regclass, m[3]));
			ELSIF m[2]::oid >= 16384 THEN
				line := replace(line, format('"typoid":%s%s', m[2], m[3]),
								format('"typoid":%s%s', m[2]::oid::regtype, m[3]));
			END IF;
		END LOOP;
		RETURN NEXT line;
	END LOOP;
END
$$;

-- insert, update without and with key change, delete
INSERT INTO orders_order VALUES (1, 'paid', NULL);
UPDATE orders_order SET status = 'shipped' WHERE id = 1;
UPDATE orders_order SET id = 2 WHERE id = 1;
DELETE FROM orders_order WHERE id = 2;
SELECT slot_changes('domain', 'dec_orders');

-- other domains' and unowned tables produce nothing, not even B/C
INSERT INTO billing_invoice VALUES (1, 10.5);
INSERT INTO unowned VALUES (1);
BEGIN;
INSERT INTO unowned VALUES (2);
INSERT INTO orders_order VALUES (3, 'new', 'mixed transaction');
INSERT INTO billing_invoice VALUES (2, 1);
COMMIT;
SELECT slot_changes('domain', 'dec_orders');

-- several domains at once; skip-empty-xacts off keeps empty transactions
INSERT INTO billing_invoice VALUES (3, 3);
INSERT INTO unowned VALUES (3);
INSERT INTO orders_order VALUES (4, 'x', 'y');
SELECT slot_changes('domain', 'dec_billing,dec_orders', 'skip-empty-xacts', 'off');

-- messages: only the prefix migration_split passes, transactional or not
SELECT 'msg' FROM pg_logical_emit_message(true, 'migration_split', E'cut-over "1"\n');
SELECT 'msg' FROM pg_logical_emit_message(false, 'migration_split', 'now');
SELECT 'msg' FROM pg_logical_emit_message(true, 'other', 'dropped');
-- content that is not text in the database encoding comes as hex
SELECT 'msg' FROM pg_logical_emit_message(false, 'migration_split', '\xff41c3'::bytea);
-- a non-transactional message's WAL is not flushed at once, and decoding
-- reads only flushed WAL: a commit (of a message with a dropped prefix)
-- flushes it, else it may be decoded only by the next call
SELECT 'msg' FROM pg_logical_emit_message(true, 'other', 'flush');
SELECT slot_changes('domain', 'dec_orders');

-- truncate lists only the domain's relations
TRUNCATE orders_order, billing_invoice, unowned;
TRUNCATE unowned;
TRUNCATE orders_order RESTART IDENTITY CASCADE;
SELECT slot_changes('domain', 'dec_orders');

-- REPLICA IDENTITY FULL: the key is the whole old row
CREATE TABLE orders_note (id int, body text);
ALTER TABLE orders_note REPLICA IDENTITY FULL;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('orders_note', 'dec_orders');
INSERT INTO orders_note VALUES (1, 'a'), (2, NULL);
UPDATE orders_note SET body = 'b' WHERE id = 1;
DELETE FROM orders_note WHERE id = 2;
SELECT slot_changes('domain', 'dec_orders');

-- REPLICA IDENTITY USING INDEX
CREATE TABLE orders_line (id int NOT NULL, line int NOT NULL, qty int);
CREATE UNIQUE INDEX orders_line_idx ON orders_line (line, id);
ALTER TABLE orders_line REPLICA IDENTITY USING INDEX orders_line_idx;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('orders_line', 'dec_orders');
INSERT INTO orders_line VALUES (1, 1, 5);
UPDATE orders_line SET qty = 6;
UPDATE orders_line SET line = 2;
DELETE FROM orders_line;
SELECT slot_changes('domain', 'dec_orders');

-- no usable replica identity: one WARNING per relation and session, null key
CREATE TABLE orders_log (id int, msg text);
CREATE TABLE orders_nothing (id int PRIMARY KEY, msg text);
ALTER TABLE orders_nothing REPLICA IDENTITY NOTHING;
INSERT INTO migration_split.ownership (rel, domain)
	VALUES ('orders_log', 'dec_orders'), ('orders_nothing', 'dec_orders');
INSERT INTO orders_log VALUES (1, 'a');
UPDATE orders_log SET msg = 'b';
DELETE FROM orders_log;
INSERT INTO orders_nothing VALUES (1, 'a');
UPDATE orders_nothing SET msg = 'b';
DELETE FROM orders_nothing;
SELECT slot_changes('domain', 'dec_orders');

-- unchanged TOASTed values: null in "new", position listed in "unchanged";
-- a changed or inserted TOASTed value is printed whole
CREATE TABLE orders_doc (id int PRIMARY KEY, body text, n int, extra text);
ALTER TABLE orders_doc ALTER body SET STORAGE EXTERNAL;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('orders_doc', 'dec_orders');
INSERT INTO orders_doc VALUES (1, repeat('0123456789', 1000), 1, NULL);
UPDATE orders_doc SET n = 2;
UPDATE orders_doc SET body = repeat('x', 3000), extra = '';
DELETE FROM orders_doc;
SELECT left(d, 140) AS data, length(d) FROM slot_changes('domain', 'dec_orders') d;

-- generated and dropped columns are not output
CREATE TABLE orders_gen (id int PRIMARY KEY, drop_me int, a int, b int GENERATED ALWAYS AS (a * 2) STORED);
ALTER TABLE orders_gen DROP COLUMN drop_me;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('orders_gen', 'dec_orders');
INSERT INTO orders_gen (id, a) VALUES (1, 21);
SELECT slot_changes('domain', 'dec_orders');

-- B and C carry xid, commit LSN, end LSN and commit time on request
INSERT INTO orders_order VALUES (10, 'opts', NULL);
SELECT jsonb_object_keys(c.data::jsonb) AS key, c.data::jsonb->>'action' AS action
  FROM pg_logical_slot_get_changes('actions', NULL, NULL, 'domain', 'dec_orders',
	'include-timestamp', '1', 'include-lsn', 'on') c
 WHERE c.data::jsonb->>'action' IN ('B', 'C')
 ORDER BY 2, 1;

-- the C message's end_lsn is where the consumer resumes
INSERT INTO orders_order VALUES (11, 'lsn', NULL);
SELECT (c.data::jsonb->>'end_lsn')::pg_lsn > (c.data::jsonb->>'commit_lsn')::pg_lsn AS end_after_commit,
	   (c.data::jsonb->>'end_lsn')::pg_lsn = c.lsn AS end_lsn_is_position,
	   c.data::jsonb->>'xid' = c.xid::text AS xid_matches
  FROM pg_logical_slot_get_changes('actions', NULL, NULL, 'domain', 'dec_orders', 'include-lsn', '1') c
 WHERE c.data::jsonb->>'action' = 'C';

SELECT pg_drop_replication_slot('actions');
DROP TABLE orders_order, billing_invoice, unowned, orders_note, orders_line,
	orders_log, orders_nothing, orders_doc, orders_gen;
DROP FUNCTION slot_changes(text[]);
DELETE FROM migration_split.ownership WHERE domain LIKE 'dec\_%';
DELETE FROM migration_split.domains WHERE domain LIKE 'dec\_%';
