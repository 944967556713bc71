-- Who sees what in the runtime views, who may reset and allow.
INSERT INTO migration_split.domains (domain) VALUES ('priv_a'), ('priv_b');
CREATE TABLE priv_ta (id int);
CREATE TABLE priv_tb (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('priv_ta', 'priv_a'), ('priv_tb', 'priv_b');
CREATE ROLE priv_alice LOGIN;
CREATE ROLE priv_bob LOGIN;
GRANT SELECT, UPDATE ON priv_ta, priv_tb TO priv_alice, priv_bob;
SELECT migration_split.reset();
SELECT current_user AS regress_superuser \gset

\c - priv_alice
SELECT count(*) FROM priv_ta a JOIN priv_tb b ON a.id = b.id AND a.id = 7;
BEGIN;
UPDATE priv_ta SET id = id;
UPDATE priv_tb SET id = id;
COMMIT;
\c - priv_bob
SELECT count(*) FROM priv_ta a JOIN priv_tb b ON a.id = b.id AND a.id = 8 AND b.id > 0;
-- bob sees his own row in full; of alice's only the figures
SELECT userid::regrole, domains, kind, calls, queryid IS NOT NULL AS has_queryid,
	   tables, application_name, query
  FROM migration_split.cross_domain_queries ORDER BY userid::regrole::text;
-- nor the sample query ids of transactions
SELECT domains, sample_queryids FROM migration_split.cross_domain_transactions
 WHERE 'priv_a' = ANY (domains);
-- bob may not reset nor allow crossings
SELECT migration_split.reset();
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
	VALUES ('priv_a', 'priv_b', 'test');
\c - :regress_superuser
GRANT pg_read_all_stats TO priv_bob;
\c - priv_bob
SELECT userid::regrole, domains, kind, calls, queryid IS NOT NULL AS has_queryid,
	   tables, application_name, query
  FROM migration_split.cross_domain_queries ORDER BY userid::regrole::text;
SELECT domains, sample_queryids IS NOT NULL AS has_samples
  FROM migration_split.cross_domain_transactions WHERE 'priv_a' = ANY (domains);
\c - :regress_superuser
-- members of migration_split_admin may reset
GRANT migration_split_admin TO priv_bob;
\c - priv_bob
SELECT migration_split.reset();
SELECT count(*) FROM migration_split.cross_domain_queries;
\c - :regress_superuser
DROP OWNED BY priv_alice, priv_bob;
DROP ROLE priv_alice, priv_bob;
