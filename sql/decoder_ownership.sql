-- Ownership is read with the historic snapshot: a tag takes effect in the
-- change stream at the commit that made it (for the tagging transaction
-- itself, from the statement that tagged), whenever the slot is read.
-- Schema changes send the relation's metadata (R) again.
INSERT INTO migration_split.domains (domain) VALUES ('dec_own'), ('dec_other');
CREATE TABLE own_a (id int PRIMARY KEY, v text);
CREATE TABLE own_b (id int PRIMARY KEY);

CREATE FUNCTION own_changes() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT regexp_replace(c.data, '"relid":[0-9]+,', '')
	  FROM pg_logical_slot_get_changes('own', NULL, NULL, 'domain', 'dec_own',
									   'include-xids', '0') c
$$;

SELECT 'init' FROM pg_create_logical_replication_slot('own', 'migration_split');

-- before the tag: nothing; from the tag's commit on: everything
INSERT INTO own_a VALUES (1, 'before');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('own_a', 'dec_own');
INSERT INTO own_a VALUES (2, 'after');
-- moved to another domain: gone from this stream from that commit
UPDATE migration_split.ownership SET domain = 'dec_other' WHERE rel = 'own_a'::regclass;
INSERT INTO own_a VALUES (3, 'other domain');
UPDATE migration_split.ownership SET domain = 'dec_own' WHERE rel = 'own_a'::regclass;
INSERT INTO own_a VALUES (4, 'back');
DELETE FROM migration_split.ownership WHERE rel = 'own_a'::regclass;
INSERT INTO own_a VALUES (5, 'untagged');
-- read only now: the answers are those of the time of each change
SELECT own_changes();

-- inside the tagging transaction, changes after the tag are emitted
BEGIN;
INSERT INTO own_b VALUES (1);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('own_b', 'dec_own');
INSERT INTO own_b VALUES (2);
COMMIT;
-- an untagging transaction that rolls back changes nothing
BEGIN;
DELETE FROM migration_split.ownership WHERE rel = 'own_b'::regclass;
INSERT INTO own_b VALUES (3);
ROLLBACK;
INSERT INTO own_b VALUES (4);
SELECT own_changes();

-- a table created and tagged while the stream runs is picked up
BEGIN;
CREATE TABLE own_new (id int PRIMARY KEY, created text DEFAULT 'mid-stream');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('own_new', 'dec_own');
INSERT INTO own_new (id) VALUES (1);
COMMIT;
INSERT INTO own_new (id) VALUES (2);
SELECT own_changes();

-- schema changes: R is sent again, with the new columns and names
ALTER TABLE own_new ADD COLUMN extra numeric(5,1) DEFAULT 1.5;
INSERT INTO own_new (id) VALUES (3);
ALTER TABLE own_new RENAME TO own_renamed;
ALTER TABLE own_renamed DROP COLUMN created;
INSERT INTO own_renamed (id) VALUES (4);
INSERT INTO own_renamed (id) VALUES (5);
SELECT own_changes();

-- a tag on an inheritance parent covers its children, reported as themselves
CREATE TABLE own_parent (id int PRIMARY KEY);
CREATE TABLE own_child (extra text) INHERITS (own_parent);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('own_parent', 'dec_own');
INSERT INTO own_child VALUES (1, 'child row');
SELECT own_changes();

-- TRUNCATE of the ownership table is refused (a new file would break every
-- slot behind it), also as the cascade of one of migration_split.domains
TRUNCATE migration_split.ownership CASCADE;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE migration_split.domains CASCADE;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO own_child VALUES (2, 'still tagged');
SELECT own_changes();

SELECT pg_drop_replication_slot('own');
DROP TABLE own_a, own_b, own_renamed, own_parent CASCADE;
DROP FUNCTION own_changes();
DELETE FROM migration_split.ownership WHERE domain LIKE 'dec\_%';
DELETE FROM migration_split.domains WHERE domain LIKE 'dec\_%';
