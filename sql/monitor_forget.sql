-- The runtime figures of a database go with it (DROP DATABASE), and those
-- of a database go with the extension (DROP EXTENSION): a database or an
-- extension created later starts from none.
SELECT current_database() AS orig_db \gset
CREATE DATABASE regression_monitor_forget;
\c regression_monitor_forget
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('mf_a'), ('mf_b');
CREATE TABLE mf_x (id int);
CREATE TABLE mf_y (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('mf_x', 'mf_a'), ('mf_y', 'mf_b');
SELECT count(*) FROM mf_x JOIN mf_y USING (id);
BEGIN;
INSERT INTO mf_x VALUES (1);
INSERT INTO mf_y VALUES (1);
COMMIT;
CREATE VIEW mf_figures AS
	SELECT (SELECT count(*) FROM migration_split.cross_domain_queries
			 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS queries,
		   (SELECT count(*) FROM migration_split.cross_domain_transactions
			 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS transactions;
SELECT * FROM mf_figures;

-- DROP EXTENSION rolled back keeps them; committed, forgets them
BEGIN;
DROP EXTENSION migration_split CASCADE;
ROLLBACK;
SELECT * FROM mf_figures;
DROP EXTENSION migration_split CASCADE;
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('mf_a'), ('mf_b');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('mf_x', 'mf_a'), ('mf_y', 'mf_b');
CREATE VIEW mf_figures AS
	SELECT (SELECT count(*) FROM migration_split.cross_domain_queries
			 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS queries,
		   (SELECT count(*) FROM migration_split.cross_domain_transactions
			 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS transactions;
SELECT * FROM mf_figures;
SELECT domain, crossing_queries, crossing_transactions
  FROM migration_split.domain_runtime_stats() ORDER BY domain;
SELECT count(*) FROM mf_x JOIN mf_y USING (id);
SELECT * FROM mf_figures;

-- DROP DATABASE forgets its figures
SELECT oid AS mf_dbid FROM pg_database WHERE datname = current_database() \gset
\c :orig_db
SELECT count(*) FROM migration_split.cross_domain_queries WHERE dbid = :mf_dbid;
DROP DATABASE regression_monitor_forget;
SELECT count(*) FROM migration_split.cross_domain_queries WHERE dbid = :mf_dbid;
