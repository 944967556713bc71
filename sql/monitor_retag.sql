-- A cross_domain_queries entry counts exactly the calls that crossed its
-- domains: after a table changes domain (re-tag, merge, rename or drop of
-- a domain, unassign), later calls of the same statement go to the entry
-- of the domains they cross now, or to none.
SELECT migration_split.reset();
INSERT INTO migration_split.domains (domain) VALUES ('rt_a'), ('rt_b'), ('rt_c');
CREATE TABLE rt_x (id int PRIMARY KEY);
CREATE TABLE rt_y (id int PRIMARY KEY);
CREATE TABLE rt_z (id int PRIMARY KEY);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('rt_x', 'rt_a'), ('rt_y', 'rt_b'), ('rt_z', 'rt_c');

CREATE VIEW rt_report AS
	SELECT domains, tables, calls, query
	  FROM migration_split.cross_domain_queries
	 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	 ORDER BY domains::text COLLATE "C", query COLLATE "C";

SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 1;
SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 2;
SELECT * FROM rt_report;

-- rt_y re-tagged to rt_c: the statement now crosses {rt_a,rt_c}
UPDATE migration_split.ownership SET domain = 'rt_c' WHERE rel = 'rt_y'::regclass;
SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 3;
SELECT * FROM rt_report;

-- rt_y joins rt_a (a merge of domains): it crosses nothing, nothing counted
UPDATE migration_split.ownership SET domain = 'rt_a' WHERE rel = 'rt_y'::regclass;
SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 4;
SELECT * FROM rt_report;

-- a domain renamed (ON UPDATE CASCADE to the tags): the new name, also for
-- the calls before the rename (see below)
UPDATE migration_split.ownership SET domain = 'rt_b' WHERE rel = 'rt_y'::regclass;
UPDATE migration_split.domains SET domain = 'rt_b2' WHERE domain = 'rt_b';
SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 5;
SELECT * FROM rt_report;

-- the domain dropped with its tags: nothing counted, its entries forgotten
SELECT migration_split.drop_domain('rt_b2', force => true);
SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 6;
SELECT * FROM rt_report;

-- in another session too (the tag changes reach it by invalidation)
INSERT INTO migration_split.ownership (rel, domain) VALUES ('rt_y', 'rt_c');
\c
SELECT count(*) FROM rt_x JOIN rt_y USING (id) WHERE rt_x.id > 7;
SELECT * FROM rt_report;

-- tables shows the current names of the tables (the catalog's), also
-- of entries recorded before a rename; a dropped table keeps the name it
-- had when the entry was recorded; query keeps the first call's text
SELECT count(*) FROM rt_x JOIN rt_z USING (id);
CREATE SCHEMA rt_s;
ALTER TABLE rt_x RENAME TO rt_x2;
ALTER TABLE rt_y SET SCHEMA rt_s;
DROP TABLE rt_z;
SELECT * FROM rt_report;
ALTER SCHEMA rt_s RENAME TO rt_s2;
SELECT domains, tables FROM rt_report;
-- suggest_moves matches the tables by their current names, and counts a
-- statement once whatever the number of its entries (here {rt_a,rt_c}
-- and {rt_a,rt_d}): moving either table removes one statement, with all
-- its calls
INSERT INTO migration_split.domains (domain) VALUES ('rt_d');
UPDATE migration_split.ownership SET domain = 'rt_d' WHERE rel = 'rt_s2.rt_y'::regclass;
SELECT count(*) FROM rt_x2 JOIN rt_s2.rt_y USING (id) WHERE rt_x2.id > 8;
UPDATE migration_split.ownership SET domain = 'rt_c' WHERE rel = 'rt_s2.rt_y'::regclass;
SELECT domains, calls FROM rt_report;
SELECT rel, from_domain, to_domain, removed, added, detail
  FROM migration_split.suggest_moves()
 WHERE rel::text LIKE '%rt\_%' ORDER BY rel::text COLLATE "C";
ALTER TABLE rt_x2 RENAME TO rt_x;
ALTER TABLE rt_s2.rt_y SET SCHEMA public;
DROP SCHEMA rt_s2;

-- a tag changed with session_replication_role = replica (a data load, a
-- logical replication apply) reaches the caches too, and so does an
-- allowlist entry written that way
SELECT migration_split.reset();
SELECT count(*) FROM rt_x JOIN rt_y USING (id);
SET session_replication_role = replica;
UPDATE migration_split.ownership SET domain = 'rt_a' WHERE rel = 'rt_y'::regclass;
RESET session_replication_role;
SELECT migration_split.table_domain('rt_y');
SELECT count(*) FROM rt_x JOIN rt_y USING (id);
SELECT domains, calls FROM rt_report;
UPDATE migration_split.ownership SET domain = 'rt_c' WHERE rel = 'rt_y'::regclass;
SET migration_split.service = 'rt_a';
SET migration_split.enforce = 'warn';
SELECT count(*) FROM rt_y;
SET session_replication_role = replica;
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
	VALUES ('rt_a', 'rt_c', 'replicated');
RESET session_replication_role;
SELECT count(*) FROM rt_y;
RESET migration_split.enforce;
RESET migration_split.service;
DELETE FROM migration_split.allowed_crossings WHERE from_domain = 'rt_a';

-- domain_runtime_stats adds up the entries of each domain
SELECT domain, crossing_queries, crossing_calls
  FROM migration_split.domain_runtime_stats()
 WHERE domain LIKE 'rt\_%' ORDER BY domain;

-- a domain renamed keeps its runtime figures (statements, transactions,
-- violations) under its new name, once the rename commits; a domain
-- dropped takes them along, so that a domain created later with its name
-- starts from none
SELECT migration_split.reset();
SELECT count(*) FROM rt_x JOIN rt_y USING (id);
BEGIN;
UPDATE rt_x SET id = id;
UPDATE rt_y SET id = id;
COMMIT;
SET migration_split.service = 'rt_c';
SET migration_split.enforce = 'warn';
SELECT count(*) FROM rt_x;
RESET migration_split.enforce;
RESET migration_split.service;
CREATE VIEW rt_runtime AS
	SELECT 'query' AS kind, domains, calls FROM rt_report
	UNION ALL
	SELECT 'transaction', domains, count
	  FROM migration_split.cross_domain_transactions
	 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	UNION ALL
	SELECT 'domain ' || domain, NULL,
		   crossing_queries + crossing_transactions + (last_violation IS NOT NULL)::int
	  FROM migration_split.domain_runtime_stats()
	 WHERE domain LIKE 'rt\_%'
	 ORDER BY 1, 2;
SELECT * FROM rt_runtime;
BEGIN;
UPDATE migration_split.domains SET domain = 'rt_c2' WHERE domain = 'rt_c';
ROLLBACK;
SELECT * FROM rt_runtime;
BEGIN;
UPDATE migration_split.domains SET domain = 'rt_c2' WHERE domain = 'rt_c';
SAVEPOINT s;
UPDATE migration_split.domains SET domain = 'rt_c3' WHERE domain = 'rt_c2';
ROLLBACK TO s;
COMMIT;
SELECT * FROM rt_runtime;
SELECT count(*) FROM rt_x JOIN rt_y USING (id);
SELECT * FROM rt_runtime;
SELECT migration_split.drop_domain('rt_c2', force => true);
SELECT * FROM rt_runtime;
SELECT migration_split.create_domain('rt_c2');
SELECT * FROM rt_runtime;
DROP VIEW rt_runtime;

-- domain_crossings counts a statement once per pair of domains, whatever
-- the number of its entries (here {rt_a,rt_d} and, once rt_w is tagged,
-- {rt_a,rt_c2,rt_d}), with the calls of all of them
SELECT migration_split.reset();
CREATE TABLE rt_w (id int);
UPDATE migration_split.ownership SET domain = 'rt_a' WHERE rel = 'rt_x'::regclass;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('rt_y', 'rt_d');
SELECT count(*) FROM rt_x JOIN rt_y USING (id) JOIN rt_w USING (id);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('rt_w', 'rt_c2');
SELECT count(*) FROM rt_x JOIN rt_y USING (id) JOIN rt_w USING (id);
SELECT domains, calls FROM rt_report;
SELECT from_domain, to_domain, objects, calls
  FROM migration_split.domain_crossings
 WHERE kind = 'query' AND from_domain LIKE 'rt\_%';
-- and so does domain_runtime_stats, per domain
SELECT domain, crossing_queries, crossing_calls
  FROM migration_split.domain_runtime_stats()
 WHERE domain LIKE 'rt\_%' ORDER BY domain;
DELETE FROM migration_split.ownership WHERE rel = 'rt_w'::regclass;
DROP TABLE rt_w;

DROP VIEW rt_report;
DELETE FROM migration_split.ownership WHERE rel IN ('rt_x'::regclass, 'rt_y'::regclass);
DROP TABLE rt_x, rt_y;
DELETE FROM migration_split.domains WHERE domain LIKE 'rt\_%';
