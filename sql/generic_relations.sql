-- Django generic relations: pairs of columns found by name (both naming
-- styles), content types mapped to tables, rows counted from the data or
-- estimated from pg_stats; only plain tables are read, never with
-- row-level security.  A database of its own, so that the other suites'
-- tables do not show.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_generic;
\c regress_ms_generic
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;

-- A Django-shaped project: contenttypes, auth, a shop, a blog, taggit, the
-- admin log (object_id as text), an audit log with <name>_content_type /
-- <name>_object_id and <name>_type / <name>_id pairs, and a model with a
-- Meta.db_table of its own.
CREATE TABLE django_content_type (id serial PRIMARY KEY,
	app_label varchar(100) NOT NULL, model varchar(100) NOT NULL,
	UNIQUE (app_label, model));
CREATE TABLE auth_user (id serial PRIMARY KEY, username text);
CREATE TABLE shop_order (id serial PRIMARY KEY);
CREATE TABLE shop_product (id serial PRIMARY KEY);
CREATE TABLE legacy_blog_entries (id serial PRIMARY KEY);	-- blog.entries, Meta.db_table
CREATE TABLE django_admin_log (id serial PRIMARY KEY,
	content_type_id int REFERENCES django_content_type, object_id text,
	user_id int REFERENCES auth_user);
CREATE TABLE taggit_taggeditem (id serial PRIMARY KEY,
	content_type_id int NOT NULL REFERENCES django_content_type,
	object_id int NOT NULL, tag text);
CREATE TABLE audit_entry (id serial PRIMARY KEY,
	target_content_type_id int REFERENCES django_content_type, target_object_id int,
	actor_type_id bigint REFERENCES django_content_type, actor_id int);
-- not pairs: a type column without an id column, an id column without a
-- foreign key to django_content_type
CREATE TABLE shop_note (id serial PRIMARY KEY,
	content_type_id int REFERENCES django_content_type, note text,
	owner_type_id int, owner_id int);
INSERT INTO django_content_type (id, app_label, model) VALUES
	(1, 'auth', 'user'), (2, 'shop', 'order'), (3, 'shop', 'product'),
	(4, 'blog', 'entries'), (5, 'admin', 'logentry'), (6, 'gone', 'model');
INSERT INTO taggit_taggeditem (content_type_id, object_id, tag)
	SELECT 2, g, 'x' FROM generate_series(1, 50) g
	UNION ALL SELECT 4, g, 'y' FROM generate_series(1, 30) g
	UNION ALL SELECT 3, g, 'z' FROM generate_series(1, 20) g
	UNION ALL SELECT 6, 1, 'stale';
INSERT INTO django_admin_log (content_type_id, object_id)
	VALUES (2, '1'), (2, '2'), (1, '1'), (5, '7'), (NULL, NULL);
INSERT INTO audit_entry (target_content_type_id, target_object_id, actor_type_id, actor_id)
	SELECT 3, g, 1, g FROM generate_series(1, 10) g
	UNION ALL SELECT 2, 1, 1, 2
	UNION ALL SELECT NULL, NULL, 1, 3;

SELECT relid::regclass, type_column, id_column, content_types::regclass
  FROM migration_split.generic_relation_columns()
 ORDER BY relid::regclass::text, type_column;

SELECT migration_split.create_domain(d)
  FROM unnest(ARRAY['auth', 'shop', 'blog', 'tags', 'admin']) d;
SELECT migration_split.assign_table(t, d)
  FROM (VALUES ('auth_user', 'auth'), ('shop_order', 'shop'), ('shop_product', 'shop'),
			   ('legacy_blog_entries', 'blog'), ('taggit_taggeditem', 'tags'),
			   ('django_admin_log', 'admin'), ('audit_entry', 'shop')) v(t, d);

-- every pair and target; a content type without a table gives a NULL
-- to_table; admin.logentry is django_admin_log, blog.entries the one
-- table ending in _entries
SELECT * FROM migration_split.generic_relations();
-- only the crossings (audit_entry -> shop_product is inside shop)
SELECT * FROM migration_split.cross_domain_generic_relations;

-- estimates from pg_stats: nothing before ANALYZE, then the most common
-- values (a content type seen once in the sample is not among them)
SELECT * FROM migration_split.generic_relations(estimate => true);
ANALYZE;
SELECT * FROM migration_split.generic_relations(estimate => true);
SELECT migration_split.generic_relations(NULL);

-- Reading user data: only plain tables the caller may read, and never
-- with row-level security.  The trojan: a table whose policy calls a
-- function of its owner that announces itself.
CREATE ROLE regress_ms_gr_owner;
CREATE ROLE regress_ms_gr_reader;
GRANT CREATE ON SCHEMA public TO regress_ms_gr_owner;
SET ROLE regress_ms_gr_owner;
CREATE FUNCTION trojan() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'trojan ran as %', current_user;
	RETURN true;
END
$$;
CREATE TABLE secret_comment (id int PRIMARY KEY, content_type_id int, object_id int);
INSERT INTO secret_comment VALUES (1, 2, 1), (2, 3, 1);
ALTER TABLE secret_comment ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY spy ON secret_comment USING (trojan());
GRANT SELECT ON secret_comment TO regress_ms_gr_reader;
RESET ROLE;
ALTER TABLE secret_comment ADD FOREIGN KEY (content_type_id) REFERENCES django_content_type;
GRANT SELECT ON django_content_type, taggit_taggeditem TO regress_ms_gr_reader;
SELECT migration_split.assign_table('secret_comment', 'tags');

-- the trojan is armed: a plain read by the reader runs it
SET ROLE regress_ms_gr_reader;
SELECT count(*) FROM secret_comment;
-- the report skips the table (row-level security applies to the reader)
-- and the tables the reader may not read (django_admin_log, audit_entry)
SELECT * FROM migration_split.cross_domain_generic_relations;
RESET ROLE;
-- a superuser is not subject to row-level security: counted, no trojan
SELECT * FROM migration_split.cross_domain_generic_relations
 WHERE from_table = 'secret_comment'::regclass;
-- the owner, whom FORCE ROW LEVEL SECURITY subjects to its own policy,
-- is not counted either
SET ROLE regress_ms_gr_owner;
SELECT * FROM migration_split.generic_relations() WHERE from_table = 'secret_comment'::regclass;
RESET ROLE;

-- a partitioned table is read whole and counted once, under it (its rows
-- live in its partitions, at every level); a content type may name a
-- partitioned table; estimates come from its inherited statistics
CREATE TABLE shop_invoice (id int PRIMARY KEY) PARTITION BY HASH (id);
CREATE TABLE shop_invoice_0 PARTITION OF shop_invoice FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE shop_invoice_1 PARTITION OF shop_invoice FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO django_content_type (id, app_label, model) VALUES (7, 'shop', 'invoice');
CREATE TABLE part_comment (id int, content_type_id int REFERENCES django_content_type,
	object_id int) PARTITION BY RANGE (id);
CREATE TABLE part_comment_1 PARTITION OF part_comment FOR VALUES FROM (0) TO (100);
CREATE TABLE part_comment_2 PARTITION OF part_comment FOR VALUES FROM (100) TO (300)
	PARTITION BY RANGE (id);
CREATE TABLE part_comment_2a PARTITION OF part_comment_2 FOR VALUES FROM (100) TO (200);
CREATE TABLE part_comment_2b (LIKE part_comment);
ALTER TABLE part_comment_2 ATTACH PARTITION part_comment_2b FOR VALUES FROM (200) TO (300);
INSERT INTO part_comment VALUES (1, 2, 1), (2, 7, 1), (150, 7, 2), (250, 7, 3), (251, 3, 4),
	(252, NULL, NULL);
SELECT migration_split.assign_table('part_comment', 'blog'), migration_split.assign_table('shop_invoice', 'shop');
SELECT relid::regclass, type_column, id_column FROM migration_split.generic_relation_columns()
 WHERE relid::regclass::text LIKE 'part_comment%';
SELECT * FROM migration_split.generic_relations() WHERE from_table::text LIKE 'part_comment%';
SELECT * FROM migration_split.cross_domain_generic_relations WHERE from_table::text LIKE 'part_comment%';
ANALYZE part_comment;
SELECT * FROM migration_split.generic_relations(estimate => true)
 WHERE from_table::text LIKE 'part_comment%';
-- the reader may read the partitioned table, not its partitions: counted
GRANT SELECT ON part_comment TO regress_ms_gr_reader;
SET ROLE regress_ms_gr_reader;
SELECT from_table, to_table, rows FROM migration_split.generic_relations()
 WHERE from_table::text LIKE 'part_comment%';
RESET ROLE;
-- row-level security on the partitioned table: skipped for whom it
-- applies, and its policy never runs
ALTER TABLE part_comment ENABLE ROW LEVEL SECURITY;
CREATE POLICY spy ON part_comment USING (trojan());
SET ROLE regress_ms_gr_reader;
SELECT count(*) AS counted FROM migration_split.generic_relations()
 WHERE from_table::text LIKE 'part_comment%';
RESET ROLE;
DROP TABLE part_comment;

-- inheritance children (not partitions) hold rows of their parent's pair
-- without its foreign key: each is a pair of its own, at every level,
-- counted ONLY, under its own domain (its parent's unless tagged); a child
-- that declares the foreign key itself is one pair, counted once
CREATE TABLE inh_comment (id int, content_type_id int REFERENCES django_content_type,
	object_id int);
CREATE TABLE inh_comment_old () INHERITS (inh_comment);
CREATE TABLE inh_comment_older () INHERITS (inh_comment_old);
CREATE TABLE inh_comment_shop (FOREIGN KEY (content_type_id) REFERENCES django_content_type)
	INHERITS (inh_comment);
INSERT INTO inh_comment VALUES (1, 7, 1);
INSERT INTO inh_comment_old VALUES (2, 7, 1), (3, 7, 2), (4, NULL, NULL);
INSERT INTO inh_comment_older VALUES (5, 7, 1);
INSERT INTO inh_comment_shop VALUES (6, 7, 1), (7, 2, 1);
SELECT migration_split.assign_table('inh_comment', 'blog'),
	   migration_split.assign_table('inh_comment_shop', 'shop');
SELECT relid::regclass, type_column, id_column FROM migration_split.generic_relation_columns()
 WHERE relid::regclass::text LIKE 'inh_comment%' ORDER BY 1::text;
SELECT * FROM migration_split.generic_relations() WHERE from_table::text LIKE 'inh_comment%';
SELECT from_table, from_domain, to_table, to_domain, rows
  FROM migration_split.cross_domain_generic_relations WHERE from_table::text LIKE 'inh_comment%';
DROP TABLE inh_comment CASCADE;

-- django_content_type unreadable: nothing maps, rows point at NULL
REVOKE SELECT ON django_content_type FROM regress_ms_gr_reader;
SET ROLE regress_ms_gr_reader;
SELECT * FROM migration_split.generic_relations();
RESET ROLE;

-- tables the caller may SELECT in a schema it has no USAGE on cannot be
-- read: skipped like other unreadable tables, not an error for the whole
-- report (nor for the Django suggestions, which read django_content_type)
CREATE SCHEMA hidden;
CREATE TABLE hidden.django_content_type (id int PRIMARY KEY, app_label text, model text);
CREATE TABLE hidden.crm_lead (id int PRIMARY KEY);
CREATE TABLE hidden.crm_note (id int, content_type_id int REFERENCES hidden.django_content_type,
	object_id int);
INSERT INTO hidden.django_content_type VALUES (1, 'crm', 'lead');
INSERT INTO hidden.crm_note VALUES (1, 1, 1);
ANALYZE hidden.crm_note;
GRANT SELECT ON ALL TABLES IN SCHEMA hidden TO regress_ms_gr_reader;
SET ROLE regress_ms_gr_reader;
SELECT count(*) AS hidden_pairs FROM migration_split.generic_relations()
 WHERE from_table::text LIKE 'hidden.%';
SELECT count(*) AS hidden_pairs FROM migration_split.generic_relations(estimate => true)
 WHERE from_table::text LIKE 'hidden.%';
SELECT count(*) AS crossings FROM migration_split.cross_domain_generic_relations;
SELECT count(*) AS moves FROM migration_split.suggest_moves();
SELECT rel, domain, reason FROM migration_split.suggest_domains() WHERE rel::text LIKE 'hidden.%';
RESET ROLE;
-- with USAGE they are read
GRANT USAGE ON SCHEMA hidden TO regress_ms_gr_reader;
SET ROLE regress_ms_gr_reader;
SELECT * FROM migration_split.generic_relations() WHERE from_table::text LIKE 'hidden.%';
SELECT rel, domain, reason FROM migration_split.suggest_domains() WHERE rel::text LIKE 'hidden.%';
RESET ROLE;
DROP SCHEMA hidden CASCADE;

\c contrib_regression
DROP DATABASE regress_ms_generic;
DROP ROLE regress_ms_gr_owner, regress_ms_gr_reader;
