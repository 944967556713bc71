-- The SQLSTATE of every error of the loose foreign keys that the README
-- lists (Loose foreign keys: Errors, Privileges).
\set SHOW_CONTEXT never
INSERT INTO migration_split.domains (domain) VALUES ('lfe_a'), ('lfe_b');
CREATE TABLE lfe_parent (id int PRIMARY KEY);
CREATE TABLE lfe_child (id int PRIMARY KEY,
	p int CONSTRAINT lfe_child_p REFERENCES lfe_parent,
	q int NOT NULL CONSTRAINT lfe_child_q REFERENCES lfe_parent,
	chk int CONSTRAINT lfe_child_chk CHECK (chk > 0));
CREATE TABLE lfe_same (p int CONSTRAINT lfe_same_p REFERENCES lfe_child);
CREATE TABLE lfe_u1 (id int PRIMARY KEY);
CREATE TABLE lfe_u2 (p int CONSTRAINT lfe_u2_p REFERENCES lfe_u1);
CREATE TABLE lfe_part (id int, p int CONSTRAINT lfe_part_p REFERENCES lfe_parent)
	PARTITION BY RANGE (id);
CREATE TABLE lfe_part1 PARTITION OF lfe_part FOR VALUES FROM (0) TO (10);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('lfe_parent', 'lfe_a'), ('lfe_child', 'lfe_b'), ('lfe_same', 'lfe_b'),
	('lfe_part', 'lfe_b');
INSERT INTO lfe_parent VALUES (1);

-- an unknown constraint: 42704
SELECT migration_split.loosen_foreign_key('lfe_child', 'nosuch', 'cascade');
\echo :LAST_ERROR_SQLSTATE
-- not a foreign key, or the inherited copy on a partition: 42809
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_chk', 'cascade');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.loosen_foreign_key('lfe_part1', 'lfe_part_p', 'cascade');
\echo :LAST_ERROR_SQLSTATE
-- within one domain, or between two unowned tables: 55000
SELECT migration_split.loosen_foreign_key('lfe_same', 'lfe_same_p', 'cascade');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.loosen_foreign_key('lfe_u2', 'lfe_u2_p', 'cascade');
\echo :LAST_ERROR_SQLSTATE
-- 'set null' on a NOT NULL key column: 55000
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_q', 'set null');
\echo :LAST_ERROR_SQLSTATE
-- another on_delete: 22023; NULL arguments: 22004
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_p', 'restrict');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_p', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.loosen_foreign_key(NULL, 'lfe_child_p', 'none');
\echo :LAST_ERROR_SQLSTATE
-- tightening or listing orphans of a key that is not loose: 42704
SELECT migration_split.tighten_foreign_key('lfe_child', 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.loose_foreign_key_orphans('lfe_child', 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
-- an OID that names no relation (0, a dropped table's): 42P01, as
-- PostgreSQL says it, before any lookup of the key
CREATE TABLE lfe_gone (id int);
SELECT 'lfe_gone'::regclass::oid AS lfe_gone \gset
DROP TABLE lfe_gone;
SELECT migration_split.loosen_foreign_key(0, 'lfe_child_p', 'none');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
SELECT migration_split.loosen_foreign_key(:lfe_gone, 'lfe_child_p', 'none') IS NULL AS gone;
\set VERBOSITY default
SELECT :'LAST_ERROR_MESSAGE' = format('relation with OID %s does not exist', :lfe_gone) AS message;
SELECT migration_split.tighten_foreign_key(0, 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
SELECT migration_split.tighten_foreign_key(:lfe_gone, 'x') IS NULL AS gone;
\set VERBOSITY default
SELECT :'LAST_ERROR_MESSAGE' = format('relation with OID %s does not exist', :lfe_gone) AS message;
SELECT * FROM migration_split.loose_foreign_key_orphans(0, 'x');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
SELECT count(*) FROM migration_split.loose_foreign_key_orphans(:lfe_gone, 'x');
\set VERBOSITY default
SELECT :'LAST_ERROR_MESSAGE' = format('relation with OID %s does not exist', :lfe_gone) AS message;
-- NULL arguments: 22004, whichever is NULL
SELECT migration_split.loosen_foreign_key('lfe_child', NULL, 'none');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.tighten_foreign_key(NULL, 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.tighten_foreign_key('lfe_child', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.loose_foreign_key_orphans(NULL, 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migration_split.loose_foreign_key_orphans('lfe_child', NULL);
\echo :LAST_ERROR_SQLSTATE

-- a member of migration_split_admin that owns neither table: 42501
CREATE ROLE regress_lfe_admin IN ROLE migration_split_admin;
SET ROLE regress_lfe_admin;
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_p', 'none');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- case-insensitive on_delete; a key already loose: 42710
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_p', 'NONE');
SELECT migration_split.loosen_foreign_key('lfe_child', 'lfe_child_p', 'cascade');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_lfe_admin;
SELECT migration_split.tighten_foreign_key('lfe_child', 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- tightening while orphans exist: 23503
INSERT INTO lfe_child VALUES (1, 99, 1, 1);
SELECT * FROM migration_split.loose_foreign_key_orphans('lfe_child', 'lfe_child_p');
SELECT migration_split.tighten_foreign_key('lfe_child', 'lfe_child_p');
\echo :LAST_ERROR_SQLSTATE
-- renaming a key column of a loose key: 2BP01
ALTER TABLE lfe_child RENAME COLUMN p TO p2;
\echo :LAST_ERROR_SQLSTATE
-- direct writes of the definitions: other options (22023), a column that
-- does not exist (42703)
UPDATE migration_split.loose_foreign_key_definitions
   SET options = options || '; DROP TABLE lfe_parent'
 WHERE constraint_name = 'lfe_child_p';
\echo :LAST_ERROR_SQLSTATE
UPDATE migration_split.loose_foreign_key_definitions
   SET from_columns = '{nosuch}' WHERE constraint_name = 'lfe_child_p';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM lfe_child;
SELECT migration_split.tighten_foreign_key('lfe_child', 'lfe_child_p');
SELECT count(*) FROM migration_split.loose_foreign_keys;

DROP ROLE regress_lfe_admin;
DROP TABLE lfe_part, lfe_u2, lfe_u1, lfe_same, lfe_child, lfe_parent;
DELETE FROM migration_split.domains WHERE domain LIKE 'lfe\_%';
