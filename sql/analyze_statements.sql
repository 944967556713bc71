-- analyze_statements(): cross-domain statements among pg_stat_statements'
-- texts; and the runtime monitor uses the same query ids and texts.
CREATE EXTENSION pg_stat_statements;
INSERT INTO migration_split.domains (domain) VALUES ('ana_orders'), ('ana_customers');
CREATE TABLE ana_customer (id int PRIMARY KEY, name text);
CREATE TABLE ana_order (id int PRIMARY KEY, customer_id int, total int);
CREATE TABLE ana_gone (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('ana_customer', 'ana_customers'), ('ana_order', 'ana_orders'),
	('ana_gone', 'ana_customers');
CREATE VIEW ana_names AS
	SELECT o.id, c.name FROM ana_order o JOIN ana_customer c ON c.id = o.customer_id;
SELECT migration_split.reset();
SELECT pg_stat_statements_reset();

SELECT count(*) FROM ana_order o JOIN ana_customer c ON c.id = o.customer_id WHERE o.total > 10;
SELECT count(*) FROM ana_order o JOIN ana_customer c ON c.id = o.customer_id WHERE o.total > 20;
SELECT count(*) FROM ana_names WHERE name LIKE 'a%';
SELECT count(*) FROM ana_order WHERE customer_id IN (SELECT id FROM ana_customer);
UPDATE ana_order SET total = 0 WHERE customer_id = (SELECT min(id) FROM ana_customer WHERE name = 'x');
SELECT count(*) FROM ana_order WHERE id = 1;
SELECT count(*) FROM ana_order o, ana_gone g WHERE g.id = o.id;
DROP TABLE ana_gone;

SELECT kind, calls, domains, tables, query
  FROM migration_split.analyze_statements() ORDER BY query COLLATE "C";

-- the same statements, as recorded at run time: same query id, same text
SELECT q.query, s.calls = q.calls AS same_calls
  FROM migration_split.cross_domain_queries q
  JOIN pg_stat_statements s USING (userid, dbid, queryid)
 WHERE s.query = q.query
 ORDER BY q.query COLLATE "C";
SELECT count(*) FROM migration_split.cross_domain_queries;

-- a text that does not analyze is skipped, not an error
SELECT count(*) > 0 AS found FROM migration_split.analyze_statements()
 WHERE query LIKE '%ana_gone%';

-- the NOTICE's counts: one in the singular (the reset is the one text,
-- then one of two crosses domains)
SELECT pg_stat_statements_reset() IS NOT NULL AS reset;
SELECT count(*) FROM migration_split.analyze_statements();
SELECT pg_stat_statements_reset() IS NOT NULL AS reset;
SELECT count(*) FROM ana_order o JOIN ana_customer c ON c.id = o.customer_id;
SELECT count(*) FROM migration_split.analyze_statements();

-- without pg_stat_statements in this database
DROP EXTENSION pg_stat_statements;
SELECT * FROM migration_split.analyze_statements();
