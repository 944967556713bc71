-- A partition keeps a tag of its own when a tagged table is attached: rows
-- routed into it through the partitioned table (INSERT, COPY, an UPDATE
-- that moves a row) reach its domain, although the executor opens it only
-- when a row goes there.
INSERT INTO migration_split.domains (domain) VALUES ('er_orders'), ('er_customers');
CREATE TABLE er_root (id int) PARTITION BY RANGE (id);
CREATE TABLE er_mine PARTITION OF er_root FOR VALUES FROM (0) TO (100);
CREATE TABLE er_theirs (id int);
SELECT migration_split.assign_table('er_root', 'er_orders');
SELECT migration_split.assign_table('er_theirs', 'er_customers');
ALTER TABLE er_root ATTACH PARTITION er_theirs FOR VALUES FROM (100) TO (200);
SELECT rel, domain, via FROM migration_split.relation_domains
 WHERE rel::text LIKE 'er\_%' ORDER BY rel::text;
INSERT INTO er_root VALUES (1);
SET migration_split.service = 'er_orders';
SET migration_split.enforce = 'error';
-- the service's own partition is fine only when no row can go elsewhere
INSERT INTO er_mine VALUES (2);
INSERT INTO er_root VALUES (150);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO er_root VALUES (3);
COPY er_root FROM stdin;
160
\.
UPDATE er_root SET id = 170 WHERE id = 1;
-- attaching, detaching, inheriting or disinheriting another domain's
-- table is changing it
CREATE TABLE er_other (id int);
CREATE TABLE er_root2 (id int) PARTITION BY RANGE (id);
CREATE TABLE er_child (id int);
SELECT migration_split.assign_table('er_other', 'er_customers');
SELECT migration_split.assign_table('er_root2', 'er_orders');
SELECT migration_split.assign_table('er_child', 'er_orders');
ALTER TABLE er_root2 ATTACH PARTITION er_other FOR VALUES FROM (200) TO (300);
ALTER TABLE er_root DETACH PARTITION er_theirs;
ALTER TABLE er_child INHERIT er_other;
SELECT count(*) FROM pg_inherits WHERE inhparent IN ('er_other'::regclass, 'er_root2'::regclass);
SET migration_split.enforce = 'warn';
INSERT INTO er_root VALUES (150);
RESET migration_split.enforce;
RESET migration_split.service;
SELECT tableoid::regclass, id FROM er_root ORDER BY id;
DROP TABLE er_root, er_root2, er_other, er_child;
DELETE FROM migration_split.domains WHERE domain LIKE 'er\_%';
