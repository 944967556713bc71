-- Streamed in-progress transactions (logical_decoding_work_mem = 64kB in
-- the test instance): every change inside a stream carries the xid of the
-- (sub)transaction it belongs to, so that the A of a subtransaction rolled
-- back after some of its changes were streamed names exactly those changes.
INSERT INTO migration_split.domains (domain) VALUES ('dec_strm');
CREATE TABLE strm (id int PRIMARY KEY, pad text);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('strm', 'dec_strm');
SELECT 'init' FROM pg_create_logical_replication_slot('strm', 'migration_split');

BEGIN;
INSERT INTO strm SELECT i, repeat('t', 200) FROM generate_series(1, 1000) i;
SAVEPOINT a;
INSERT INTO strm SELECT i, repeat('a', 200) FROM generate_series(1001, 2000) i;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO strm SELECT i, repeat('b', 200) FROM generate_series(2001, 2500) i;
SAVEPOINT c;
INSERT INTO strm SELECT i, repeat('c', 200) FROM generate_series(3001, 3500) i;
ROLLBACK TO SAVEPOINT c;
RELEASE SAVEPOINT b;
-- still inside the subtransaction that replaced savepoint a
INSERT INTO strm SELECT i, repeat('t', 200) FROM generate_series(4001, 4100) i;
COMMIT;

CREATE TEMP TABLE strm_out AS
SELECT row_number() OVER () AS n, c.data::jsonb AS j
  FROM pg_logical_slot_get_changes('strm', NULL, NULL, 'domain', 'dec_strm',
								   'stream-changes', '1', 'include-xids', '1') c;

-- the transaction was streamed, and two subtransactions aborted with A
SELECT count(*) FILTER (WHERE j->>'action' = 'S') > 1 AS streamed,
	   count(*) FILTER (WHERE j->>'action' = 'A') AS aborts,
	   count(DISTINCT j->>'xid') FILTER (WHERE j->>'action' IN ('S', 'E', 'A', 'C')) AS top_xids,
	   count(*) FILTER (WHERE j->>'action' = 'C' AND (j->>'streamed')::bool) AS streamed_commits
  FROM strm_out;

-- every inserted row, labelled by the (sub)transaction its change names:
-- the top level, an aborted subtransaction (the A's subxid), or another
WITH top AS (SELECT DISTINCT j->>'xid' AS xid FROM strm_out WHERE j->>'action' = 'S'),
	 aborted AS (SELECT j->>'subxid' AS xid FROM strm_out WHERE j->>'action' = 'A')
SELECT CASE WHEN o.j->>'xid' IN (SELECT xid FROM top) THEN 'top'
			WHEN o.j->>'xid' IN (SELECT xid FROM aborted) THEN 'aborted'
			ELSE 'committed subtransaction' END AS xact,
	   ((o.j->'new'->>0)::int - 1) / 1000 * 1000 + 1 AS ids_from,
	   count(DISTINCT o.j->>'xid') AS xids,
	   count(*) > 0 AS some
  FROM strm_out o
 WHERE o.j->>'action' = 'I'
 GROUP BY 1, 2
 ORDER BY 2, 1;

-- the aborted subtransactions' rows are exactly those of savepoints a and c
WITH aborted AS (SELECT j->>'subxid' AS xid FROM strm_out WHERE j->>'action' = 'A')
SELECT bool_and((o.j->'new'->>0)::int BETWEEN 1001 AND 2000
				OR (o.j->'new'->>0)::int BETWEEN 3001 AND 3500) AS only_rolled_back_rows
  FROM strm_out o
 WHERE o.j->>'action' = 'I' AND o.j->>'xid' IN (SELECT xid FROM aborted);

SELECT pg_drop_replication_slot('strm');
DROP TABLE strm;
DELETE FROM migration_split.ownership WHERE domain = 'dec_strm';
DELETE FROM migration_split.domains WHERE domain = 'dec_strm';
