-- Only names of existing domains enter the shared dictionary of domain
-- names: a session cannot fill it with made-up service names.
INSERT INTO migration_split.domains (domain) VALUES ('dict_owner');
CREATE TABLE dict_t (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('dict_t', 'dict_owner');
SELECT domain_names AS before, domain_names_max, domain_names_refused
  FROM migration_split.monitor_info \gset
SELECT :domain_names_max AS domain_names_max, :domain_names_refused AS refused;
SET migration_split.enforce = 'warn';
SET client_min_messages = error;
-- violations by services that are no domains: only dict_owner is recorded
SET migration_split.service = 'dict_no_such_domain_1';
SELECT count(*) FROM dict_t;
SET migration_split.service = 'dict_no_such_domain_2';
SELECT count(*) FROM dict_t;
SELECT domain_names - :before AS added FROM migration_split.monitor_info;
-- a domain created later in the session is recorded
INSERT INTO migration_split.domains (domain) VALUES ('dict_real');
SET migration_split.service = 'dict_real';
SELECT count(*) FROM dict_t;
SELECT domain_names - :before AS added FROM migration_split.monitor_info;
RESET client_min_messages;
RESET migration_split.service;
RESET migration_split.enforce;
SELECT domain, last_violation IS NOT NULL AS violated
  FROM migration_split.domain_runtime_stats() WHERE domain LIKE 'dict\_%' ORDER BY 1;
DROP TABLE dict_t;
DELETE FROM migration_split.domains WHERE domain LIKE 'dict\_%';
