-- Ownership through inheritance changes while the decoder and the monitor
-- hold per-relation decisions.  ALTER TABLE ... INHERIT / NO INHERIT
-- invalidates only the altered table, yet its own children take their
-- domain from it: every cache derived from the ownership cache (the
-- decoder's relation cache, the monitor's front cache) must follow.
INSERT INTO migration_split.domains (domain) VALUES ('inh_dom'), ('inh_other');
CREATE TABLE inh_parent (id int PRIMARY KEY);
CREATE TABLE inh_mid (id int PRIMARY KEY);
CREATE TABLE inh_leaf (note text, PRIMARY KEY (id)) INHERITS (inh_mid);
CREATE TABLE inh_foreign (id int PRIMARY KEY);
INSERT INTO migration_split.ownership (rel, domain)
	VALUES ('inh_parent', 'inh_dom'), ('inh_foreign', 'inh_other');

SELECT 'init' FROM pg_create_logical_replication_slot('inh', 'migration_split');

-- Before, between and after: one decoding session reads them all, so the
-- decisions cached for the first rows would be reused for the later ones.
INSERT INTO inh_mid VALUES (1);
INSERT INTO inh_leaf VALUES (2, 'before');
ALTER TABLE inh_mid INHERIT inh_parent;
INSERT INTO inh_mid VALUES (3);
INSERT INTO inh_leaf VALUES (4, 'between');
ALTER TABLE inh_mid NO INHERIT inh_parent;
INSERT INTO inh_mid VALUES (5);
INSERT INTO inh_leaf VALUES (6, 'after');
ALTER TABLE inh_mid INHERIT inh_parent;
INSERT INTO inh_leaf VALUES (7, 'again');
ALTER TABLE inh_mid NO INHERIT inh_parent;
INSERT INTO inh_leaf VALUES (8, 'gone');

-- exactly rows 3, 4 and 7 (R messages stripped of their volatile parts)
SELECT c.data::jsonb->>'action' AS action, c.data::jsonb->>'table' AS "table",
	   c.data::jsonb->'new' AS new
  FROM pg_logical_slot_get_changes('inh', NULL, NULL, 'domain', 'inh_dom',
								   'include-xids', '0') c
 WHERE c.data::jsonb->>'action' IN ('I', 'R');

-- The monitor: a statement joining inh_leaf with another domain's table
-- crosses domains exactly while inh_leaf belongs to inh_dom.
SELECT migration_split.reset();
SELECT count(*) FROM inh_leaf l JOIN inh_foreign f ON f.id = l.id;
SELECT count(*) FROM migration_split.cross_domain_queries WHERE query LIKE '%inh_leaf%';
ALTER TABLE inh_mid INHERIT inh_parent;
SELECT count(*) FROM inh_leaf l JOIN inh_foreign f ON f.id = l.id;
SELECT domains, tables FROM migration_split.cross_domain_queries WHERE query LIKE '%inh_leaf%';
SELECT migration_split.reset();
ALTER TABLE inh_mid NO INHERIT inh_parent;
SELECT count(*) FROM inh_leaf l JOIN inh_foreign f ON f.id = l.id;
SELECT count(*) FROM migration_split.cross_domain_queries WHERE query LIKE '%inh_leaf%';

SELECT pg_drop_replication_slot('inh');
DROP TABLE inh_parent, inh_mid, inh_leaf, inh_foreign;
DELETE FROM migration_split.ownership WHERE domain LIKE 'inh\_%';
DELETE FROM migration_split.domains WHERE domain LIKE 'inh\_%';
