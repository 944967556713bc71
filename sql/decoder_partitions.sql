-- Partitions are reported as the owning root, with their columns mapped to
-- the root's order; truncating the root lists the root once.
INSERT INTO migration_split.domains (domain) VALUES ('dec_part');
CREATE TABLE part_root (id int, region text, amount numeric, PRIMARY KEY (id, region))
	PARTITION BY LIST (region);
CREATE TABLE part_eu PARTITION OF part_root FOR VALUES IN ('eu');
-- a partition with a different column order and a dropped column
CREATE TABLE part_us (amount numeric, junk int, region text NOT NULL, id int NOT NULL);
ALTER TABLE part_us DROP COLUMN junk;
ALTER TABLE part_root ATTACH PARTITION part_us FOR VALUES IN ('us');
-- a sub-partitioned branch
CREATE TABLE part_asia PARTITION OF part_root FOR VALUES IN ('jp', 'kr') PARTITION BY LIST (region);
CREATE TABLE part_jp PARTITION OF part_asia FOR VALUES IN ('jp');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('part_root', 'dec_part');

CREATE FUNCTION part_changes() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT regexp_replace(replace(c.data, '"relid":' || 'part_root'::regclass::oid || ',', '"relid":part_root,'),
						  '"relid":[0-9]+,', '"relid":N,')
	  FROM pg_logical_slot_get_changes('part', NULL, NULL, 'domain', 'dec_part',
									   'include-xids', '0') c
	 WHERE (c.data::jsonb->>'action') IS NOT NULL
$$;

SELECT 'init' FROM pg_create_logical_replication_slot('part', 'migration_split');

INSERT INTO part_root VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'jp', 30);
UPDATE part_root SET amount = amount + 1;
-- a row moving between partitions is a delete and an insert
UPDATE part_root SET region = 'eu' WHERE id = 2;
DELETE FROM part_root WHERE id = 3;
SELECT part_changes();

-- truncating the root: once, as the root; a partition alone is named as a
-- partition of its root, so a consumer can refuse to guess
TRUNCATE part_root;
TRUNCATE part_us;
SELECT part_changes();

-- a partition tagged for another domain is not the root's
INSERT INTO migration_split.domains (domain) VALUES ('dec_part_other');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('part_eu', 'dec_part_other');
INSERT INTO part_root VALUES (4, 'eu', 40), (5, 'us', 50);
SELECT part_changes();

-- partitions whose replica identity differs from the root's: the old key
-- is the partition's own when it lacks some of the root's key columns,
-- with their output positions in key_columns; FULL holds the root's key
CREATE TABLE rid_root (id int, region text, code text NOT NULL, v int,
	PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE rid_same PARTITION OF rid_root FOR VALUES IN ('a');
CREATE TABLE rid_index PARTITION OF rid_root FOR VALUES IN ('b');
CREATE UNIQUE INDEX rid_index_code ON rid_index (code);
ALTER TABLE rid_index REPLICA IDENTITY USING INDEX rid_index_code;
CREATE TABLE rid_full PARTITION OF rid_root FOR VALUES IN ('c');
ALTER TABLE rid_full REPLICA IDENTITY FULL;
CREATE TABLE rid_nothing PARTITION OF rid_root FOR VALUES IN ('d');
ALTER TABLE rid_nothing REPLICA IDENTITY NOTHING;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('rid_root', 'dec_part');
INSERT INTO rid_root VALUES (1, 'a', 'x1', 0), (2, 'b', 'x2', 0), (3, 'c', 'x3', 0), (4, 'd', 'x4', 0);
SELECT part_changes();
UPDATE rid_root SET v = v + 1;
UPDATE rid_root SET code = 'y2' WHERE id = 2;
DELETE FROM rid_root;
SELECT c FROM part_changes() c WHERE c ~ '^{"action":"[UD]"';

SELECT pg_drop_replication_slot('part');
DROP TABLE part_root, rid_root;
DROP FUNCTION part_changes();
DELETE FROM migration_split.ownership WHERE domain LIKE 'dec\_%';
DELETE FROM migration_split.domains WHERE domain LIKE 'dec\_%';
