-- What R says about values the existing rows got without a change in the
-- stream: "missing" (a column added with a constant default: the value
-- the rows that existed then have) and "rewritten" (the columns to which
-- an ALTER TABLE that rewrote the table gave non-null values; the rows of
-- a rewrite are never emitted).  Only the relevant parts of R are shown.
INSERT INTO migration_split.domains (domain) VALUES ('dec_rw'), ('dec_rw_other');
CREATE TABLE rw_a (id int PRIMARY KEY, v text);
CREATE TABLE rw_o (id int PRIMARY KEY);
CREATE TABLE rw_p (id int, r int, PRIMARY KEY (id, r)) PARTITION BY LIST (r);
CREATE TABLE rw_p1 PARTITION OF rw_p FOR VALUES IN (1);
CREATE TABLE rw_p2 PARTITION OF rw_p FOR VALUES IN (2);
SELECT migration_split.assign_table('rw_a', 'dec_rw');
SELECT migration_split.assign_table('rw_p', 'dec_rw');
SELECT migration_split.assign_table('rw_o', 'dec_rw_other');
INSERT INTO rw_a VALUES (1, 'a'), (2, NULL);
INSERT INTO rw_o VALUES (1);
INSERT INTO rw_p VALUES (1, 1), (2, 2);

CREATE FUNCTION rw_changes() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT CASE WHEN c.data LIKE '{"action":"R"%'
		THEN concat_ws(' ', 'R', (c.data::jsonb)->>'table',
					   (SELECT string_agg(x->>'name' || coalesce('=' || (x->>'missing'), ''), ',')
						  FROM jsonb_array_elements((c.data::jsonb)->'columns') x),
					   'rewritten:' || ((c.data::jsonb)->'rewritten')::text)
		ELSE regexp_replace(c.data, '"relid":[0-9]+,', '') END
	  FROM pg_logical_slot_get_changes('rw', NULL, NULL, 'domain', 'dec_rw',
									   'include-xids', '0') c
$$;

SELECT 'init' FROM pg_create_logical_replication_slot('rw', 'migration_split');

-- a constant default (dropped again, as Django does): "missing", no rewrite
BEGIN;
ALTER TABLE rw_a ADD COLUMN flag boolean NOT NULL DEFAULT true;
ALTER TABLE rw_a ALTER COLUMN flag DROP DEFAULT;
COMMIT;
INSERT INTO rw_a VALUES (3, 'c', false);
-- a plain column, then a rewrite in another transaction: the new column
-- got no value, so it is not listed; the constant default is
-- materialised by the rewrite and leaves "missing"
ALTER TABLE rw_a ADD COLUMN note text;
ALTER TABLE rw_a ALTER COLUMN id TYPE bigint;
INSERT INTO rw_a VALUES (4, 'd', true, 'n');
-- the list is sent once
INSERT INTO rw_a VALUES (5, 'e', true, 'n');
-- a volatile default: listed, with the rewrite's other columns
ALTER TABLE rw_a ADD COLUMN n int DEFAULT (random() * 0 + 1)::int;
UPDATE rw_a SET v = 'u' WHERE id = 1;
-- a rewrite of another domain's table: nothing
ALTER TABLE rw_o ADD COLUMN s serial;
INSERT INTO rw_o VALUES (2);
-- a partitioned table: every partition is rewritten, each name once
ALTER TABLE rw_p ADD COLUMN s serial;
INSERT INTO rw_p VALUES (3, 2);
-- a rewrite of an empty table gives no value: nothing listed
CREATE TABLE rw_e (id int PRIMARY KEY);
SELECT migration_split.assign_table('rw_e', 'dec_rw');
ALTER TABLE rw_e ADD COLUMN s serial;
INSERT INTO rw_e VALUES (1);
SELECT rw_changes();

-- each column's "attnum" in the relation R names (the partitioned root
-- for a partition's change): a column dropped and added again under the
-- same name has another one, by which a consumer tells it from the
-- column it has
CREATE FUNCTION rw_attnums() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT concat_ws(' ', 'R', (c.data::jsonb)->>'table',
					 (SELECT string_agg((x->>'name') || ':' || (x->>'attnum'), ',')
						FROM jsonb_array_elements((c.data::jsonb)->'columns') x))
	  FROM pg_logical_slot_get_changes('rw', NULL, NULL, 'domain', 'dec_rw',
									   'include-xids', '0') c
	 WHERE c.data LIKE '{"action":"R"%'
$$;
CREATE TABLE rw_q (id int, r int, v text, PRIMARY KEY (id, r)) PARTITION BY LIST (r);
CREATE TABLE rw_q1 (v text, r int NOT NULL, id int NOT NULL);
ALTER TABLE rw_q ATTACH PARTITION rw_q1 FOR VALUES IN (1);
SELECT migration_split.assign_table('rw_q', 'dec_rw');
INSERT INTO rw_q VALUES (1, 1, 'a');
ALTER TABLE rw_q DROP COLUMN v;
ALTER TABLE rw_q ADD COLUMN v text;
INSERT INTO rw_q VALUES (2, 1, 'b');
SELECT rw_attnums();

SELECT 'dropped' FROM pg_drop_replication_slot('rw');
DROP TABLE rw_a, rw_o, rw_p, rw_e, rw_q;
DROP FUNCTION rw_changes();
DROP FUNCTION rw_attnums();
DELETE FROM migration_split.domains WHERE domain IN ('dec_rw', 'dec_rw_other');
