-- The extension's catalog: schema, tables, dump registration and the role.
SELECT extname, extversion, extrelocatable, extnamespace::regnamespace
  FROM pg_extension WHERE extname = 'migration_split';

SELECT c.relname, c.reloptions
  FROM pg_class c
 WHERE c.relnamespace = 'migration_split'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

-- pg_dump keeps the user's tags and domains
SELECT c::regclass AS dumped
  FROM pg_extension, unnest(extconfig) c
 WHERE extname = 'migration_split' ORDER BY c::regclass::text;

SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'migration_split_admin';

-- domain names must be usable as schema names
\set VERBOSITY terse
INSERT INTO migration_split.domains (domain) VALUES ('Orders');
INSERT INTO migration_split.domains (domain) VALUES (repeat('x', 64));
