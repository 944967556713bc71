-- The reports fill the backend's ownership cache from one pass over the
-- catalogs (ms_ownership_cache_prefill() in src/ownership_cache.c) instead
-- of resolving relation by relation.  In one session: the first report
-- fills it with the answers of the relation_domains view (tags, partitions,
-- inheritance children, TOAST tables, owned sequences), and every change
-- made after the fill shows in the next report: new tags, a table created
-- since, INHERIT / NO INHERIT, ATTACH / DETACH PARTITION, OWNED BY.
INSERT INTO migration_split.domains (domain) VALUES ('rc_a'), ('rc_b');
CREATE TABLE rc_parent (id serial PRIMARY KEY, note text);
CREATE TABLE rc_child (extra text) INHERITS (rc_parent);
CREATE TABLE rc_part (id int, k int, note text) PARTITION BY LIST (k);
CREATE TABLE rc_part_1 PARTITION OF rc_part FOR VALUES IN (1)
	PARTITION BY LIST (id);
CREATE TABLE rc_part_1_1 PARTITION OF rc_part_1 FOR VALUES IN (1);
CREATE TABLE rc_other (id int GENERATED ALWAYS AS IDENTITY, note text);
CREATE SEQUENCE rc_seq;
CREATE VIEW rc_view AS SELECT id FROM rc_parent;
INSERT INTO migration_split.ownership (rel, domain)
VALUES ('rc_parent', 'rc_a'), ('rc_part', 'rc_b');

-- Rows of report_relation_domains() and the view that differ, and
-- relations whose report_domain() differs from the view.
CREATE FUNCTION pg_temp.report_differs() RETURNS TABLE (rows bigint, lookups bigint)
LANGUAGE sql AS $$
SELECT (SELECT count(*)
		  FROM ((SELECT rel::oid, domain, tagged_rel::oid, via
				   FROM migration_split.relation_domains
				 EXCEPT SELECT * FROM migration_split.report_relation_domains())
				UNION ALL
				(SELECT * FROM migration_split.report_relation_domains()
				 EXCEPT SELECT rel::oid, domain, tagged_rel::oid, via
						  FROM migration_split.relation_domains)) d),
	   (SELECT count(*)
		  FROM pg_class c LEFT JOIN migration_split.relation_domains r ON r.rel = c.oid
		 WHERE migration_split.report_domain(c.oid) IS DISTINCT FROM r.domain)
$$;
-- Our relations with a domain, as the reports see them: every TOAST
-- table and sequence under the name of its table.
CREATE FUNCTION pg_temp.rc_domains() RETURNS TABLE (rel text, domain text, via text)
LANGUAGE sql AS $$
SELECT coalesce(t.relname || ' (toast)', c.relname::text) AS rel, r.domain, r.via
  FROM migration_split.report_relation_domains() r
  JOIN pg_class c ON c.oid = r.relid
  LEFT JOIN pg_class t ON t.reltoastrelid = c.oid
 WHERE coalesce(t.relname, c.relname) LIKE 'rc\_%'
 ORDER BY coalesce(t.relname || ' (toast)', c.relname::text) COLLATE "C"
$$;

-- the fill
SELECT * FROM pg_temp.rc_domains();
SELECT * FROM pg_temp.report_differs();

-- after the fill: a new tag, a table created since (with its own
-- sequence), inheritance changed, a partition detached and one attached
INSERT INTO migration_split.ownership (rel, domain) VALUES ('rc_other', 'rc_b');
CREATE TABLE rc_new (id bigserial, note text);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('rc_new', 'rc_a');
ALTER TABLE rc_child NO INHERIT rc_parent;
ALTER TABLE rc_part DETACH PARTITION rc_part_1;
CREATE TABLE rc_part_2 (id int, k int, note text);
ALTER TABLE rc_part ATTACH PARTITION rc_part_2 FOR VALUES IN (2);
ALTER SEQUENCE rc_seq OWNED BY rc_parent.note;
SELECT * FROM pg_temp.rc_domains();
SELECT * FROM pg_temp.report_differs();

-- and back, with a tag moved
ALTER TABLE rc_child INHERIT rc_parent;
ALTER TABLE rc_part ATTACH PARTITION rc_part_1 FOR VALUES IN (1);
UPDATE migration_split.ownership SET domain = 'rc_b' WHERE rel = 'rc_parent'::regclass;
SELECT * FROM pg_temp.rc_domains();
SELECT * FROM pg_temp.report_differs();

DROP VIEW rc_view;
DROP TABLE rc_parent, rc_child, rc_part, rc_part_2, rc_other, rc_new;
DELETE FROM migration_split.ownership WHERE domain LIKE 'rc\_%';
DELETE FROM migration_split.domains WHERE domain LIKE 'rc\_%';

-- column_names() keeps the names of the user columns of each relation it
-- was asked about (src/report_columns.c), read up to the highest column
-- asked for; every change of pg_attribute drops them.  Each query below
-- runs after the previous one filled the cache.
CREATE TABLE rc_cols (a int, b int, c int, d int);
SELECT migration_split.column_names('rc_cols', '{2}');
-- columns after those read, in any order, repeated, missing, null, system
SELECT migration_split.column_names('rc_cols', '{4,1,2,4,7,NULL,-1,0}');
ALTER TABLE rc_cols RENAME COLUMN b TO b2;
SELECT migration_split.column_names('rc_cols', '{2,3}');
ALTER TABLE rc_cols DROP COLUMN c;
SELECT migration_split.column_names('rc_cols', '{1,2,3,4}');
ALTER TABLE rc_cols ADD COLUMN e int;
SELECT migration_split.column_names('rc_cols', '{5,4}');
-- many lookups in one query agree with the catalog (the syscache)
SELECT count(*) AS differ
  FROM pg_attribute a
 WHERE a.attrelid IN ('rc_cols'::regclass, 'pg_class'::regclass,
					  'migration_split.ownership'::regclass)
   AND a.attnum > 0
   AND (migration_split.column_names(a.attrelid, ARRAY[a.attnum]))[1]
	   IS DISTINCT FROM a.attname::text;
-- a relation that is gone (its names were kept), and one that never was
SELECT 'rc_cols'::regclass::oid AS rc_cols_oid \gset
SELECT migration_split.column_names(:rc_cols_oid::oid, '{1}');
DROP TABLE rc_cols;
SELECT migration_split.column_names(:rc_cols_oid::oid, '{1}');
SELECT migration_split.column_names(0, '{1,2}');
