-- Option batch-writes (what migration-split stream asks for): several
-- messages per write, separated by a newline.  The messages are exactly
-- those written one per write without the option, in the same order; a
-- write ends with C, with E or A of a stream, with a non-transactional M,
-- or once it holds 64 kB (65536 bytes).  Through the SQL interface one
-- write is one row.
INSERT INTO migration_split.domains (domain) VALUES ('dec_batch');
CREATE TABLE bat (id int PRIMARY KEY, pad text);
CREATE TABLE bat_other (id int PRIMARY KEY);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('bat', 'dec_batch');
SELECT 'init' FROM pg_create_logical_replication_slot('bat', 'migration_split');

-- small transactions, one of another table only, a large one (about
-- 300 kB of messages), a truncate, messages of both kinds
INSERT INTO bat VALUES (1, 'one'), (2, E'two\nlines');
INSERT INTO bat_other VALUES (1);
BEGIN;
INSERT INTO bat SELECT i, repeat('x', 100) FROM generate_series(10, 2009) i;
UPDATE bat SET pad = 'u' WHERE id <= 2;
SELECT 'msg' FROM pg_logical_emit_message(true, 'migration_split', 'in the transaction');
DELETE FROM bat WHERE id BETWEEN 10 AND 20;
COMMIT;
SELECT 'msg' FROM pg_logical_emit_message(false, 'migration_split', 'on its own');
TRUNCATE bat;
INSERT INTO bat VALUES (3, 'three');

CREATE TEMP TABLE single AS
SELECT row_number() OVER () AS n, data
  FROM pg_logical_slot_peek_changes('bat', NULL, NULL, 'domain', 'dec_batch');
CREATE TEMP TABLE batched AS
SELECT row_number() OVER () AS w, data
  FROM pg_logical_slot_peek_changes('bat', NULL, NULL, 'domain', 'dec_batch', 'batch-writes', 'on');
CREATE TEMP TABLE split AS
SELECT row_number() OVER (ORDER BY b.w, m.k) AS n, b.w, m.k, m.data,
	   m.k = count(*) OVER (PARTITION BY b.w) AS last_of_write,
	   length(b.data) AS write_len
  FROM batched b, regexp_split_to_table(b.data, E'\n') WITH ORDINALITY AS m(data, k);

-- the same messages in the same order (the newline inside a value is
-- escaped, so it does not split a message)
SELECT (SELECT count(*) FROM single) AS messages,
	   (SELECT count(*) FROM split) AS split_messages,
	   (SELECT count(*) FROM single s JOIN split p USING (n) WHERE s.data = p.data) AS equal,
	   (SELECT count(*) FROM batched) AS writes;

-- where the writes end: the action of the last message of each write, and
-- whether the write was full
SELECT w, data::jsonb->>'action' AS last_action, write_len >= 65536 AS full_write,
	   (SELECT count(*) FROM split p2 WHERE p2.w = p.w) AS messages
  FROM split p
 WHERE last_of_write
 ORDER BY w;

-- a write that is not full ends at C, at a non-transactional M, and
-- nowhere else
SELECT count(*) AS misplaced_ends
  FROM split
 WHERE last_of_write AND write_len < 65536
   AND NOT (data::jsonb->>'action' = 'C'
			OR (data::jsonb->>'action' = 'M' AND NOT (data::jsonb->>'transactional')::bool));

-- streamed (logical_decoding_work_mem = 64kB in the test instance): a
-- write that is not full ends with a block's E, a subtransaction's A or
-- the streamed C, and the messages are still those written one per write
SELECT 'consumed' FROM (SELECT count(*) FROM pg_logical_slot_get_changes('bat', NULL, NULL, 'domain', 'dec_batch')) c;
BEGIN;
INSERT INTO bat SELECT i, repeat('s', 200) FROM generate_series(5000, 6999) i;
SAVEPOINT a;
INSERT INTO bat SELECT i, repeat('a', 200) FROM generate_series(7000, 7999) i;
ROLLBACK TO SAVEPOINT a;
COMMIT;
CREATE TEMP TABLE s_single AS
SELECT row_number() OVER () AS n, data
  FROM pg_logical_slot_peek_changes('bat', NULL, NULL, 'domain', 'dec_batch', 'stream-changes', 'on');
CREATE TEMP TABLE s_split AS
SELECT row_number() OVER (ORDER BY b.w, m.k) AS n, m.data,
	   m.k = count(*) OVER (PARTITION BY b.w) AS last_of_write,
	   length(b.data) AS write_len
  FROM (SELECT row_number() OVER () AS w, data
		  FROM pg_logical_slot_peek_changes('bat', NULL, NULL, 'domain', 'dec_batch',
											'stream-changes', 'on', 'batch-writes', 'on')) b,
	   regexp_split_to_table(b.data, E'\n') WITH ORDINALITY AS m(data, k);
SELECT (SELECT count(*) FROM s_single) = (SELECT count(*) FROM s_split) AS same_count,
	   (SELECT count(*) FROM s_single s JOIN s_split p USING (n) WHERE s.data = p.data)
		 = (SELECT count(*) FROM s_single) AS same_messages,
	   (SELECT count(*) FROM s_single WHERE data::jsonb->>'action' = 'S') > 1 AS streamed,
	   (SELECT count(*) FROM s_single WHERE data::jsonb->>'action' = 'A') AS aborts;
SELECT data::jsonb->>'action' AS last_action, count(*) AS writes
  FROM s_split
 WHERE last_of_write AND write_len < 65536
 GROUP BY 1
 ORDER BY 1;

-- a message larger than four writes (300 kB): written whole, then the
-- buffer starts small again and the rest of the transaction follows
SELECT 'consumed' FROM (SELECT count(*) FROM pg_logical_slot_get_changes('bat', NULL, NULL, 'domain', 'dec_batch')) c;
BEGIN;
INSERT INTO bat VALUES (9001, repeat('y', 300000));
INSERT INTO bat SELECT i, 'after' FROM generate_series(9002, 9004) i;
COMMIT;
INSERT INTO bat VALUES (9005, 'next');
SELECT length(data) > 300000 AS big, array_length(m, 1) AS messages,
	   m[array_length(m, 1)]::jsonb->>'action' AS last_action,
	   m[array_length(m, 1)]::jsonb->'new'->>0 AS last_id
  FROM pg_logical_slot_peek_changes('bat', NULL, NULL, 'domain', 'dec_batch', 'batch-writes', 'on') c,
	   regexp_split_to_array(c.data, E'\n') m;

-- the option's value is parsed like the others
SELECT count(*) FROM pg_logical_slot_peek_changes('bat', NULL, NULL, 'domain', 'dec_batch', 'batch-writes', 'maybe');

SELECT 'stop' FROM pg_drop_replication_slot('bat');
DROP TABLE bat, bat_other;
DELETE FROM migration_split.domains WHERE domain = 'dec_batch';
