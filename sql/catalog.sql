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
\set VERBOSITY default

-- the settings of the README's Settings table: default and context
SELECT name, boot_val, context, enumvals
  FROM pg_settings WHERE name LIKE 'migration\_split.%' ORDER BY name;

-- who may read and write the catalog tables and views (README: Privileges,
-- Who sees what): the privileges of PUBLIC and of migration_split_admin
SELECT c.relname, c.relkind,
	   string_agg(a.privilege_type, ',' ORDER BY a.privilege_type)
		 FILTER (WHERE a.grantee = 0) AS public,
	   string_agg(a.privilege_type, ',' ORDER BY a.privilege_type)
		 FILTER (WHERE a.grantee = 'migration_split_admin'::regrole) AS admin
  FROM pg_class c LEFT JOIN LATERAL aclexplode(c.relacl) a ON true
 WHERE c.relnamespace = 'migration_split'::regnamespace AND c.relkind IN ('r', 'v')
 GROUP BY c.relname, c.relkind ORDER BY c.relname;

-- functions PUBLIC may not call, and who may
SELECT p.oid::regprocedure AS function,
	   array(SELECT a.grantee::regrole::text FROM aclexplode(p.proacl) a
			  WHERE a.grantee <> p.proowner ORDER BY 1) AS also_granted_to
  FROM pg_proc p
 WHERE p.pronamespace = 'migration_split'::regnamespace
   AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text COLLATE "C";

-- SECURITY DEFINER functions are trigger functions only (no one calls them
-- directly), each with a pinned search_path
SELECT p.proname, p.prorettype::regtype,
	   'search_path=pg_catalog, pg_temp' = ANY (p.proconfig) AS search_path_pinned
  FROM pg_proc p
 WHERE p.pronamespace = 'migration_split'::regnamespace AND p.prosecdef
 ORDER BY p.proname;
