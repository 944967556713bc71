--------------------------------------------------------------------------
-- ownership: changes since 1.0 (see src/sql/ownership.sql for the whole definition)
--------------------------------------------------------------------------


-- TRUNCATE is refused: it would give the table a new file, and logical
-- decoding, which reads it with historic snapshots, could then no longer
-- read the tags of any transaction before the TRUNCATE: every slot of the
-- database behind it would fail for good.  Tags are removed with DELETE,
-- whose row trigger above invalidates the caches.
CREATE FUNCTION migration_split.ownership_refuse_truncate()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'cannot truncate table migration_split.ownership'
		USING ERRCODE = 'feature_not_supported',
			  DETAIL = 'Logical decoding reads this table with historic snapshots: after a TRUNCATE, no replication slot of the database could decode the transactions before it.',
			  HINT = 'Use DELETE FROM migration_split.ownership.';
END
$$;

CREATE TRIGGER ownership_refuse_truncate
	BEFORE TRUNCATE ON migration_split.ownership
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.ownership_refuse_truncate();

REVOKE ALL ON FUNCTION migration_split.ownership_refuse_truncate() FROM PUBLIC;

-- suggest_domains() reads only what cannot run its owner's code (security)
CREATE OR REPLACE FUNCTION migration_split.suggest_domains()
RETURNS TABLE (rel regclass, domain text, reason text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
SET row_security = off
AS $$
DECLARE
	ct_nsp		pg_catalog.oid[] := '{}';
	ct_app		text[] := '{}';
	ct_model	text[] := '{}';
	app_nsp		pg_catalog.oid[] := '{}';
	app_label	text[] := '{}';
	labels		text[];
	models		text[];
	t			record;
	found_oids	pg_catalog.oid[];
	found_doms	text[];
	found_why	text[];
	todo		pg_catalog.oid[];
	pass		integer;
	progress	boolean;
BEGIN
	-- Django's content types and migration history, in every schema we
	-- may read: the app labels and models of the project.  Whoever created
	-- a relation of that name must not get code run with our rights, so
	-- only what reads without running its owner's code is read: plain or
	-- partitioned tables (no views; no foreign tables, also not as
	-- partitions; ONLY, so no inheritance children), columns of built-in
	-- string types (no user-defined casts or operators), and no row level
	-- security policies (their expressions would run as us): a table with
	-- RLS enabled is skipped unless we bypass RLS, and row_security = off
	-- makes any policy that would still apply an error instead.
	FOR t IN
		SELECT n.oid AS nsp, n.nspname, c.relname, c.relkind,
			   pg_catalog.array_agg(a.attname::text) AS cols
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
		   AND a.attname IN ('app_label', 'model', 'app') AND NOT a.attisdropped
		   AND a.atttypid IN ('pg_catalog.text'::pg_catalog.regtype,
							  'pg_catalog.varchar'::pg_catalog.regtype,
							  'pg_catalog.bpchar'::pg_catalog.regtype,
							  'pg_catalog.name'::pg_catalog.regtype)
		 WHERE c.relname IN ('django_content_type', 'django_migrations')
		   AND c.relkind IN ('r', 'p')
		   AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_partition_tree(c.oid) pt
						   JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) pt.relid
						   WHERE pc.relkind NOT IN ('r', 'p'))
		   AND (NOT c.relrowsecurity
				OR EXISTS (SELECT FROM pg_catalog.pg_roles r
						   WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
							 AND (r.rolsuper OR r.rolbypassrls)))
		 GROUP BY 1, 2, 3, 4
		 ORDER BY 3
	LOOP
		IF t.relname OPERATOR(pg_catalog.=) 'django_content_type'
		   AND t.cols OPERATOR(pg_catalog.@>) ARRAY['app_label', 'model'] THEN
			EXECUTE pg_catalog.format(
				'SELECT pg_catalog.array_agg(app_label::text ORDER BY app_label, model),
						pg_catalog.array_agg(model::text ORDER BY app_label, model)
				   FROM %s %I.%I WHERE app_label IS NOT NULL AND model IS NOT NULL',
				CASE t.relkind WHEN 'r' THEN 'ONLY' ELSE '' END, t.nspname, t.relname)
			   INTO labels, models;
			IF labels IS NOT NULL THEN
				ct_nsp := ct_nsp OPERATOR(pg_catalog.||)
					pg_catalog.array_fill(t.nsp, ARRAY[pg_catalog.cardinality(labels)]);
				ct_app := ct_app OPERATOR(pg_catalog.||) labels;
				ct_model := ct_model OPERATOR(pg_catalog.||) models;
				app_nsp := app_nsp OPERATOR(pg_catalog.||)
					pg_catalog.array_fill(t.nsp, ARRAY[pg_catalog.cardinality(labels)]);
				app_label := app_label OPERATOR(pg_catalog.||) labels;
			END IF;
		ELSIF t.relname OPERATOR(pg_catalog.=) 'django_migrations'
		   AND t.cols OPERATOR(pg_catalog.@>) ARRAY['app'] THEN
			-- apps whose content types are missing still have migrations
			EXECUTE pg_catalog.format(
				'SELECT pg_catalog.array_agg(DISTINCT app::text) FROM %s %I.%I WHERE app IS NOT NULL',
				CASE t.relkind WHEN 'r' THEN 'ONLY' ELSE '' END, t.nspname, t.relname)
			   INTO labels;
			IF labels IS NOT NULL THEN
				app_nsp := app_nsp OPERATOR(pg_catalog.||)
					pg_catalog.array_fill(t.nsp, ARRAY[pg_catalog.cardinality(labels)]);
				app_label := app_label OPERATOR(pg_catalog.||) labels;
			END IF;
		END IF;
	END LOOP;

	-- Rules by name, set at a time.
	WITH cand AS (SELECT * FROM migration_split.user_tables()),
	ct AS (
		SELECT u.nsp, u.app, u.model
		  FROM ROWS FROM (pg_catalog.unnest(ct_nsp), pg_catalog.unnest(ct_app),
						  pg_catalog.unnest(ct_model)) AS u(nsp, app, model)
	),
	apps AS (
		SELECT DISTINCT u.nsp, u.app
		  FROM ROWS FROM (pg_catalog.unnest(app_nsp), pg_catalog.unnest(app_label)) AS u(nsp, app)
	),
	django_tables (name, app, what) AS (
		VALUES ('django_migrations', 'django', 'Django''s migration history'),
			   ('django_content_type', 'contenttypes', 'django.contrib.contenttypes'),
			   ('django_session', 'sessions', 'django.contrib.sessions'),
			   ('django_admin_log', 'admin', 'django.contrib.admin'),
			   ('django_site', 'sites', 'django.contrib.sites'),
			   ('django_flatpage', 'flatpages', 'django.contrib.flatpages'),
			   ('django_flatpage_sites', 'flatpages', 'django.contrib.flatpages'),
			   ('django_redirect', 'redirects', 'django.contrib.redirects'),
			   ('auth_user', 'auth', 'django.contrib.auth'),
			   ('auth_group', 'auth', 'django.contrib.auth'),
			   ('auth_permission', 'auth', 'django.contrib.auth'),
			   ('auth_user_groups', 'auth', 'django.contrib.auth'),
			   ('auth_user_user_permissions', 'auth', 'django.contrib.auth'),
			   ('auth_group_permissions', 'auth', 'django.contrib.auth')
	),
	rules (oid, domain, reason, prio, specificity) AS (
		SELECT cand.oid, o.domain, 'already assigned to this domain', 0, 0
		  FROM cand JOIN migration_split.ownership o
			ON o.rel::pg_catalog.oid OPERATOR(pg_catalog.=) cand.oid
		UNION ALL
		SELECT cand.oid, dt.app,
			   pg_catalog.format('Django''s own table (%s)', dt.what), 1, 0
		  FROM cand JOIN django_tables dt ON dt.name OPERATOR(pg_catalog.=) cand.name
		UNION ALL
		SELECT cand.oid, ct.app,
			   pg_catalog.format('table of Django model %s.%s (django_content_type)', ct.app, ct.model),
			   2, 0
		  FROM cand JOIN ct ON ct.nsp OPERATOR(pg_catalog.=) cand.nsp
		   AND cand.name OPERATOR(pg_catalog.=) (ct.app OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) ct.model)
		UNION ALL
		SELECT cand.oid, ct.app,
			   pg_catalog.format('many-to-many table of Django model %s.%s', ct.app, ct.model),
			   3, pg_catalog.length(ct.app) OPERATOR(pg_catalog.+) pg_catalog.length(ct.model)
		  FROM cand JOIN ct ON ct.nsp OPERATOR(pg_catalog.=) cand.nsp
		   AND pg_catalog.starts_with(cand.name,
				ct.app OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) ct.model OPERATOR(pg_catalog.||) '_')
		UNION ALL
		SELECT cand.oid, apps.app,
			   pg_catalog.format('name starts with Django app label "%s"', apps.app),
			   4, pg_catalog.length(apps.app)
		  FROM cand JOIN apps ON apps.nsp OPERATOR(pg_catalog.=) cand.nsp
		   AND pg_catalog.starts_with(cand.name, apps.app OPERATOR(pg_catalog.||) '_')
		UNION ALL
		SELECT m.oid, m.app,
			   pg_catalog.format('Meta.db_table ending in the name of Django model %s.%s', m.app, m.model),
			   5, 0
		  FROM (SELECT cand.oid, ct.app, ct.model,
					   pg_catalog.min(ct.app) OVER (PARTITION BY cand.oid) AS first_app,
					   pg_catalog.max(ct.app) OVER (PARTITION BY cand.oid) AS last_app
				  FROM cand JOIN ct ON ct.nsp OPERATOR(pg_catalog.=) cand.nsp
				   AND (cand.name OPERATOR(pg_catalog.=) ct.model
						OR pg_catalog.right(cand.name, pg_catalog.length(ct.model) OPERATOR(pg_catalog.+) 1)
						   OPERATOR(pg_catalog.=) ('_' OPERATOR(pg_catalog.||) ct.model))) m
		 WHERE m.first_app OPERATOR(pg_catalog.=) m.last_app
		UNION ALL
		SELECT cand.oid, migration_split.domain_name_from(cand.schema_name),
			   pg_catalog.format('table of schema %s', pg_catalog.quote_ident(cand.schema_name)), 6, 0
		  FROM cand
		 WHERE cand.schema_name OPERATOR(pg_catalog.<>) 'public'
		   AND NOT EXISTS (SELECT FROM apps WHERE apps.nsp OPERATOR(pg_catalog.=) cand.nsp)
	),
	best AS (
		SELECT DISTINCT ON (r.oid) r.oid, r.domain, r.reason
		  FROM rules r
		 WHERE r.domain IS NOT NULL
		 ORDER BY r.oid, r.prio, r.specificity DESC, r.domain
	)
	SELECT COALESCE((SELECT pg_catalog.array_agg(b.oid ORDER BY b.oid) FROM best b), '{}'),
		   COALESCE((SELECT pg_catalog.array_agg(b.domain ORDER BY b.oid) FROM best b), '{}'),
		   COALESCE((SELECT pg_catalog.array_agg(b.reason ORDER BY b.oid) FROM best b), '{}'),
		   COALESCE((SELECT pg_catalog.array_agg(cand.oid ORDER BY cand.oid) FROM cand
					  WHERE NOT EXISTS (SELECT FROM best b
										WHERE b.oid OPERATOR(pg_catalog.=) cand.oid)), '{}')
	  INTO found_oids, found_doms, found_why, todo;

	-- Then many-to-many tables by name, name prefixes, and foreign-key
	-- neighbourhood, each pass until nothing changes.
	FOR pass IN 1..3 LOOP
		IF pass OPERATOR(pg_catalog.=) 2 THEN
			FOR t IN
				SELECT p.oid, migration_split.domain_name_from(p.prefix) AS domain,
					   pg_catalog.format('name prefix "%s_" shared with other tables', p.prefix) AS reason
				  FROM migration_split.name_prefix_suggestions() p
				 WHERE p.oid OPERATOR(pg_catalog.=) ANY (todo)
				 ORDER BY p.oid
			LOOP
				found_oids := found_oids OPERATOR(pg_catalog.||) t.oid;
				found_doms := found_doms OPERATOR(pg_catalog.||) t.domain;
				found_why := found_why OPERATOR(pg_catalog.||) t.reason;
				todo := pg_catalog.array_remove(todo, t.oid);
			END LOOP;
			CONTINUE;
		END IF;
		progress := true;
		WHILE progress AND pg_catalog.cardinality(todo) OPERATOR(pg_catalog.>) 0 LOOP
			progress := false;
			FOR t IN
				SELECT f.oid, f.domain, f.reason
				  FROM migration_split.foreign_key_suggestions(found_oids, found_doms, todo,
															   pass OPERATOR(pg_catalog.=) 1) f
				 ORDER BY f.oid
			LOOP
				found_oids := found_oids OPERATOR(pg_catalog.||) t.oid;
				found_doms := found_doms OPERATOR(pg_catalog.||) t.domain;
				found_why := found_why OPERATOR(pg_catalog.||) t.reason;
				todo := pg_catalog.array_remove(todo, t.oid);
				progress := true;
			END LOOP;
		END LOOP;
	END LOOP;

	-- Last, the first word of a name of several words: a one-table app.
	FOR t IN
		SELECT c.oid, migration_split.domain_name_from(pg_catalog.split_part(c.relname, '_', 1)) AS domain,
			   pg_catalog.format('first word of the name ("%s_")', pg_catalog.split_part(c.relname, '_', 1)) AS reason
		  FROM pg_catalog.pg_class c
		 WHERE c.oid OPERATOR(pg_catalog.=) ANY (todo)
		   AND c.relname OPERATOR(pg_catalog.~) '^[^_]+_.'
		 ORDER BY c.oid
	LOOP
		found_oids := found_oids OPERATOR(pg_catalog.||) t.oid;
		found_doms := found_doms OPERATOR(pg_catalog.||) t.domain;
		found_why := found_why OPERATOR(pg_catalog.||) t.reason;
		todo := pg_catalog.array_remove(todo, t.oid);
	END LOOP;

	RETURN QUERY
		SELECT u.oid::pg_catalog.regclass, u.domain, u.reason
		  FROM ROWS FROM (pg_catalog.unnest(found_oids), pg_catalog.unnest(found_doms),
						  pg_catalog.unnest(found_why)) AS u(oid, domain, reason)
		UNION ALL
		SELECT u.oid::pg_catalog.regclass, NULL::text,
			   'no rule applies: assign it yourself'
		  FROM pg_catalog.unnest(todo) AS u(oid)
		 ORDER BY 2 NULLS LAST, 1;
END
$$;

-- user_tables: anti-joins instead of a pg_depend probe per table (issue 12,
-- reports at scale: the generic relations map content types with it).
CREATE OR REPLACE FUNCTION migration_split.user_tables()
RETURNS TABLE (oid pg_catalog.oid, name text, nsp pg_catalog.oid, schema_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.oid, c.relname::text, c.relnamespace, n.nspname::text
	  FROM pg_catalog.pg_class c
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.relkind IN ('r', 'p')
	   AND NOT c.relispartition
	   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
	   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'migration_split')
	   AND c.oid NOT IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i)
	   -- extension members, found from the extensions (an index scan
	   -- each) rather than probing pg_depend for every table
	   AND c.oid NOT IN (SELECT d.objid
						   FROM pg_catalog.pg_extension x
						   JOIN pg_catalog.pg_depend d
							 ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
							AND d.refobjid OPERATOR(pg_catalog.=) x.oid
						  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
							AND d.deptype OPERATOR(pg_catalog.=) 'e')
$$;
