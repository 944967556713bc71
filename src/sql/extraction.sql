/*
 * src/sql/extraction.sql: part of the install script migration_split--1.1.sql
 */

-- Extraction: what the output plugin and the migration-split job need
-- in the source database.

--------------------------------------------------------------------------
-- 6. Extraction
--------------------------------------------------------------------------

--------------------------------------------------------------------------
-- 6.1 Domain lifecycle
--------------------------------------------------------------------------

/*
 * A domain moves through these states (the arrows are the only allowed
 * transitions, see check_domain_transition):
 *
 *   monolith -> copying -> streaming -> frozen -> extracted -> final
 *                  |          |  ^        |          |
 *                  v          v  |        v          |
 *               monolith  monolith +-- streaming <---+  (unfreeze, rollback)
 *
 * monolith:  the monolith owns the data (no transition recorded yet).
 * copying:   migration-split init is copying the tables to the service.
 * streaming: the job streams the domain's changes to the service.
 * frozen:    the monolith refuses every write to the domain's tables (the
 *            freeze triggers of freeze_domain() exist on all of them).
 * extracted: the service has every change up to the freeze and owns the
 *            data; the monolith's tables stay frozen.
 * final:     the extraction is over for good; no transition leaves it.
 *
 * One fact, one home: the log of transitions is the catalog, the current
 * state is its last row (view domain_lifecycle); a domain without a row is
 * in the monolith.  Every row says who made the transition and when.
 * Members of migration_split_admin (and superusers) may make transitions;
 * they may insert into the log only through its check trigger, which
 * validates the transition and stamps the row with CURRENT_USER and the
 * time for everybody but superusers (pg_restore writes history).
 */
CREATE TABLE migration_split.domain_transitions (
	domain		text NOT NULL
				REFERENCES migration_split.domains (domain)
				ON UPDATE CASCADE ON DELETE CASCADE,
	step		integer NOT NULL,
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	changed_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	changed_by	name NOT NULL DEFAULT CURRENT_USER,
	source_lsn	pg_lsn,
	service		text,
	PRIMARY KEY (domain, step),
	CONSTRAINT domain_transitions_state_check
		CHECK (from_state IN ('monolith', 'copying', 'streaming', 'frozen', 'extracted', 'final')
			   AND to_state IN ('monolith', 'copying', 'streaming', 'frozen', 'extracted', 'final'))
);

SELECT pg_catalog.pg_extension_config_dump('migration_split.domain_transitions', '');

COMMENT ON TABLE migration_split.domain_transitions IS
	'log of the lifecycle transitions of every domain: who, when, from, to, source LSN and service';

-- The current state of every domain: the last transition, or 'monolith'
-- with the domain's creation when there is none.
CREATE VIEW migration_split.domain_lifecycle AS
SELECT d.domain,
	   COALESCE(t.to_state, 'monolith') AS state,
	   COALESCE(t.changed_at, d.created_at) AS changed_at,
	   COALESCE(t.changed_by, d.created_by) AS changed_by,
	   t.source_lsn,
	   t.service
  FROM migration_split.domains d
  LEFT JOIN LATERAL (
	SELECT tr.to_state, tr.changed_at, tr.changed_by, tr.source_lsn, tr.service
	  FROM migration_split.domain_transitions tr
	 WHERE tr.domain OPERATOR(pg_catalog.=) d.domain
	 ORDER BY tr.step DESC
	 LIMIT 1) t ON true;

COMMENT ON VIEW migration_split.domain_lifecycle IS
	'per domain: its lifecycle state (monolith, copying, streaming, frozen, extracted, final), when and by whom it was reached, the source LSN and the service';

-- Raise the error for a transition that is not allowed, or a state that
-- does not exist.
CREATE FUNCTION migration_split.check_domain_transition(domain text,
														from_state text,
														to_state text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	allowed		text[];
BEGIN
	IF to_state IS NULL
	   OR to_state NOT IN ('monolith', 'copying', 'streaming', 'frozen', 'extracted', 'final') THEN
		RAISE EXCEPTION 'invalid domain state "%"', to_state
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The states are monolith, copying, streaming, frozen, extracted and final.';
	END IF;
	allowed := CASE from_state
		WHEN 'monolith' THEN ARRAY['copying']
		WHEN 'copying' THEN ARRAY['streaming', 'monolith']
		WHEN 'streaming' THEN ARRAY['frozen', 'monolith']
		WHEN 'frozen' THEN ARRAY['extracted', 'streaming']
		WHEN 'extracted' THEN ARRAY['final', 'streaming']
		ELSE ARRAY[]::text[] END;
	IF from_state OPERATOR(pg_catalog.=) to_state THEN
		RAISE EXCEPTION 'domain "%" is already in state "%"', domain, to_state
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF to_state OPERATOR(pg_catalog.<>) ALL (allowed) THEN
		RAISE EXCEPTION 'cannot move domain "%" from state "%" to state "%"',
			domain, from_state, to_state
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = CASE WHEN from_state OPERATOR(pg_catalog.=) 'final'
							THEN 'A final domain has been extracted for good; no transition leaves state "final".'
							ELSE pg_catalog.format('From state "%s" a domain can move to: %s.',
									from_state, pg_catalog.array_to_string(allowed, ', '))
						   END,
				  HINT = CASE to_state
							WHEN 'frozen' THEN 'A domain is frozen from state "streaming", by migration_split.freeze_domain() or migration-split cutover.'
							WHEN 'extracted' THEN 'A domain is extracted from state "frozen", by migration-split cutover.'
							WHEN 'final' THEN 'Only an extracted domain can be made final, by migration-split finalize.'
							WHEN 'copying' THEN 'A domain is copied from state "monolith", by migration-split init.'
							WHEN 'streaming' THEN 'A domain streams after its copy, or again after migration_split.unfreeze_domain().'
							ELSE 'A domain returns to the monolith from state "copying" or "streaming".' END;
	END IF;
END
$$;

-- Row check on migration_split.domain_transitions: only administrators
-- make transitions; the row follows the last one and is an allowed move;
-- who and when are stamped.  Superusers may write history as it is
-- (pg_restore loads the log in any order).
CREATE FUNCTION migration_split.check_domain_transition_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	last_step	integer;
	last_state	text;
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the state of domain "%"', NEW.domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may change the lifecycle state of domains.';
	END IF;
	IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r
		 WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
		RETURN NEW;
	END IF;
	SELECT t.step, t.to_state INTO last_step, last_state
	  FROM migration_split.domain_transitions t
	 WHERE t.domain OPERATOR(pg_catalog.=) NEW.domain
	 ORDER BY t.step DESC LIMIT 1;
	IF NOT FOUND THEN
		last_step := 0;
		last_state := 'monolith';
	END IF;
	IF NEW.from_state IS DISTINCT FROM last_state
	   OR NEW.step IS DISTINCT FROM last_step OPERATOR(pg_catalog.+) 1 THEN
		RAISE EXCEPTION 'transition of domain "%" does not follow its last state', NEW.domain
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('The domain is in state "%s" after %s.', last_state,
											 migration_split.count_text(last_step, 'transition', 'transitions')),
				  HINT = 'Use migration_split.set_domain_state().';
	END IF;
	PERFORM migration_split.check_domain_transition(NEW.domain, NEW.from_state, NEW.to_state);
	NEW.changed_at := pg_catalog.clock_timestamp();
	NEW.changed_by := CURRENT_USER;
	RETURN NEW;
END
$$;

CREATE TRIGGER domain_transitions_check
	BEFORE INSERT ON migration_split.domain_transitions
	FOR EACH ROW EXECUTE FUNCTION migration_split.check_domain_transition_row();

-- The relations of a domain that freeze_domain() protects: its tables,
-- partitions and inheritance children, in OID order (the order in which
-- freeze_domain() locks them).
CREATE FUNCTION migration_split.domain_write_targets(domain text)
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT r.rel
  FROM migration_split.relation_domains r
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.rel::pg_catalog.oid
 WHERE r.domain OPERATOR(pg_catalog.=) domain_write_targets.domain
   AND r.via IN ('tag', 'partition', 'inheritance')
   AND c.relkind IN ('r', 'p')
 ORDER BY r.rel::pg_catalog.oid
$$;

-- The trigger function of a frozen table: refuses the statement.  Its
-- arguments are the domain, where its writes go now, and 'monolith' when
-- that is the monolith (the service database, frozen by a rollback; absent
-- otherwise: the monolith, frozen for a service), fixed when the trigger
-- is created, so that it reads nothing at run time.  It runs as the
-- writing user and only raises.
CREATE FUNCTION migration_split.refuse_frozen_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- spelled out, not lower(TG_OP): the same words whatever the
	-- database's collation
	op			text := CASE TG_OP WHEN 'INSERT' THEN 'insert into' WHEN 'DELETE' THEN 'delete from'
						 WHEN 'UPDATE' THEN 'update' WHEN 'TRUNCATE' THEN 'truncate' END;
BEGIN
	IF TG_ARGV[2] IS NOT DISTINCT FROM 'monolith' THEN
		RAISE EXCEPTION 'cannot % table "%.%": domain "%" was given back to the monolith "%"',
			op, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
			USING ERRCODE = 'MS002',
				  DETAIL = pg_catalog.format('Domain "%s" is frozen in this service database since its rollback: it refuses every write to its tables and still answers reads.', TG_ARGV[0]),
				  HINT = 'Write through the monolith; the next migration-split cutover of the domain unfreezes it here.';
	END IF;
	RAISE EXCEPTION 'cannot % table "%.%": domain "%" belongs to service "%" now',
		op, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
		USING ERRCODE = 'MS002',
			  DETAIL = pg_catalog.format('Domain "%s" is frozen: the monolith refuses every write to its tables and still answers reads.', TG_ARGV[0]),
			  HINT = 'Write through the service, or give the domain back to the monolith with migration-split rollback.';
END
$$;

-- The number of the domain's tables that carry the freeze triggers, and
-- the number of its tables.
CREATE FUNCTION migration_split.frozen_table_count(domain text,
												   OUT frozen pg_catalog.int8,
												   OUT tables pg_catalog.int8)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.count(*) FILTER (WHERE pg_catalog.num_nonnulls(f.tgname, tt.tgname) OPERATOR(pg_catalog.=) 2),
	   pg_catalog.count(*)
  FROM migration_split.domain_write_targets(frozen_table_count.domain) r(rel)
  LEFT JOIN pg_catalog.pg_trigger f
	ON f.tgrelid OPERATOR(pg_catalog.=) r.rel::pg_catalog.oid
   AND f.tgname OPERATOR(pg_catalog.=) 'migration_split_freeze'
   AND f.tgfoid OPERATOR(pg_catalog.=) 'migration_split.refuse_frozen_write()'::pg_catalog.regprocedure
  LEFT JOIN pg_catalog.pg_trigger tt
	ON tt.tgrelid OPERATOR(pg_catalog.=) r.rel::pg_catalog.oid
   AND tt.tgname OPERATOR(pg_catalog.=) 'migration_split_freeze_truncate'
   AND tt.tgfoid OPERATOR(pg_catalog.=) 'migration_split.refuse_frozen_write()'::pg_catalog.regprocedure
$$;

-- Record a transition of a domain's lifecycle, after checking the caller,
-- the domain and the move.  A move to "frozen" needs the freeze triggers on
-- every table of the domain, a move from "frozen" or "extracted" back to
-- "streaming" needs them gone: freeze_domain() and unfreeze_domain() do
-- both.  The service defaults to the last one recorded.
CREATE FUNCTION migration_split.set_domain_state(domain text, state text,
												 source_lsn pg_lsn DEFAULT NULL,
												 service text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur			record;
	f			record;
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the state of domain "%"', domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may change the lifecycle state of domains.';
	END IF;
	PERFORM migration_split.require_domain(domain);
	PERFORM migration_split.require_argument(state, 'state');
	-- one transition at a time per domain
	PERFORM FROM migration_split.domains d
	  WHERE d.domain OPERATOR(pg_catalog.=) set_domain_state.domain FOR UPDATE;

	SELECT COALESCE(t.step, 0) AS step, COALESCE(t.to_state, 'monolith') AS state,
		   t.service
	  INTO cur
	  FROM (SELECT 1) one
	  LEFT JOIN LATERAL (
		SELECT tr.step, tr.to_state, tr.service
		  FROM migration_split.domain_transitions tr
		 WHERE tr.domain OPERATOR(pg_catalog.=) set_domain_state.domain
		 ORDER BY tr.step DESC LIMIT 1) t ON true;
	PERFORM migration_split.check_domain_transition(domain, cur.state, state);

	SELECT * INTO f FROM migration_split.frozen_table_count(domain);
	IF state OPERATOR(pg_catalog.=) 'frozen' AND f.frozen OPERATOR(pg_catalog.<) f.tables THEN
		RAISE EXCEPTION 'cannot mark domain "%" frozen: % of its % %',
			domain, f.tables OPERATOR(pg_catalog.-) f.frozen,
			migration_split.count_text(f.tables, 'table', 'tables'),
			CASE WHEN f.tables OPERATOR(pg_catalog.-) f.frozen OPERATOR(pg_catalog.=) 1
				 THEN 'accepts writes' ELSE 'accept writes' END
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Freeze the domain with migration_split.freeze_domain().';
	END IF;
	IF state IN ('streaming', 'monolith') AND f.frozen OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot mark domain "%" %: % of its tables % frozen',
			domain, state, f.frozen,
			CASE WHEN f.frozen OPERATOR(pg_catalog.=) 1 THEN 'is' ELSE 'are' END
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Unfreeze the domain with migration_split.unfreeze_domain().';
	END IF;

	INSERT INTO migration_split.domain_transitions
		(domain, step, from_state, to_state, source_lsn, service)
	VALUES (domain, cur.step OPERATOR(pg_catalog.+) 1, cur.state, state, source_lsn,
			CASE WHEN state IN ('frozen', 'extracted', 'final')
				 THEN COALESCE(service, cur.service) ELSE service END);
END
$$;

-- Freeze a domain: from the commit of this transaction on, the monolith
-- refuses every write to the domain's tables (INSERT, UPDATE, DELETE,
-- MERGE, COPY FROM, TRUNCATE, from any client, function or trigger) with
-- SQLSTATE MS002, and still answers reads.  Two statement-level triggers
-- per table (migration_split_freeze, migration_split_freeze_truncate),
-- ordinary (origin) triggers: sessions with session_replication_role =
-- replica (superusers only: the job's reverse apply) are not refused.
-- CREATE TRIGGER takes ShareRowExclusiveLock, which conflicts with the
-- RowExclusiveLock of every writer: a writer in flight finishes first (its
-- commit precedes the freeze's), a later one waits and then sees the
-- trigger.  So every write of the domain that ever commits on the monolith
-- commits before this transaction does: pg_current_wal_lsn() read after
-- the commit is a position after which nothing of the domain commits.
-- rollback is true in the service database when a rollback freezes it:
-- service then names the monolith, and the refusal says so.  Returns the
-- number of tables frozen.
CREATE FUNCTION migration_split.freeze_domain(domain text, service text,
											  rollback boolean DEFAULT false)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel			regclass;
	n			pg_catalog.int8 := 0;
	cur			text;
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the state of domain "%"', domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may change the lifecycle state of domains.';
	END IF;
	PERFORM migration_split.require_domain(domain);
	PERFORM migration_split.require_argument(service, 'service');
	PERFORM migration_split.require_argument(rollback, 'rollback');
	-- one transition at a time per domain (as set_domain_state()), taken
	-- before the state is read: a second freeze or an unfreeze at once
	-- waits, then reads the state this one committed (a second freeze
	-- failed creating the triggers again)
	PERFORM FROM migration_split.domains d
	  WHERE d.domain OPERATOR(pg_catalog.=) freeze_domain.domain FOR UPDATE;
	SELECT l.state INTO cur FROM migration_split.domain_lifecycle l
	 WHERE l.domain OPERATOR(pg_catalog.=) freeze_domain.domain;
	PERFORM migration_split.check_domain_transition(domain, cur, 'frozen');
	-- freezing creates triggers and unfreezing drops them: table owners only
	SELECT r INTO rel
	  FROM migration_split.domain_write_targets(domain) r
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r::pg_catalog.oid
	 WHERE NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'must be owner of table % to freeze domain "%"', rel, domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Freezing a domain creates triggers on its tables, and unfreezing drops them.';
	END IF;

	FOR rel IN SELECT r FROM migration_split.domain_write_targets(domain) r LOOP
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER migration_split_freeze BEFORE INSERT OR UPDATE OR DELETE ON %s'
			' FOR EACH STATEMENT EXECUTE FUNCTION migration_split.refuse_frozen_write(%L, %L%s)',
			rel, domain, service, CASE WHEN rollback THEN ', ''monolith''' ELSE '' END);
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER migration_split_freeze_truncate BEFORE TRUNCATE ON %s'
			' FOR EACH STATEMENT EXECUTE FUNCTION migration_split.refuse_frozen_write(%L, %L%s)',
			rel, domain, service, CASE WHEN rollback THEN ', ''monolith''' ELSE '' END);
		n := n OPERATOR(pg_catalog.+) 1;
	END LOOP;
	IF n OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'domain "%" has no tables', domain
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Assign tables to the domain with migration_split.assign_table().';
	END IF;
	PERFORM migration_split.set_domain_state(domain, 'frozen', NULL, service);
	RETURN n;
END
$$;

-- Undo freeze_domain(): drop the freeze triggers of the domain's tables and
-- return the domain to "streaming" (from "frozen": a cut-over that did not
-- finish; from "extracted": a rollback).  Returns the number of tables
-- unfrozen.
CREATE FUNCTION migration_split.unfreeze_domain(domain text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t			record;
	n			pg_catalog.int8 := 0;
	cur			text;
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the state of domain "%"', domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may change the lifecycle state of domains.';
	END IF;
	PERFORM migration_split.require_domain(domain);
	-- one transition at a time per domain, before the state is read
	PERFORM FROM migration_split.domains d
	  WHERE d.domain OPERATOR(pg_catalog.=) unfreeze_domain.domain FOR UPDATE;
	SELECT l.state INTO cur FROM migration_split.domain_lifecycle l
	 WHERE l.domain OPERATOR(pg_catalog.=) unfreeze_domain.domain;
	PERFORM migration_split.check_domain_transition(domain, cur, 'streaming');

	FOR t IN
		SELECT tg.tgrelid::pg_catalog.regclass AS rel, tg.tgname
		  FROM pg_catalog.pg_trigger tg
		 WHERE tg.tgfoid OPERATOR(pg_catalog.=) 'migration_split.refuse_frozen_write()'::pg_catalog.regprocedure
		   AND tg.tgname IN ('migration_split_freeze', 'migration_split_freeze_truncate')
		   AND tg.tgrelid IN (SELECT r::pg_catalog.oid
								FROM migration_split.domain_write_targets(domain) r)
		 ORDER BY tg.tgrelid, tg.tgname
	LOOP
		EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
		IF t.tgname OPERATOR(pg_catalog.=) 'migration_split_freeze' THEN
			n := n OPERATOR(pg_catalog.+) 1;
		END IF;
	END LOOP;
	PERFORM migration_split.set_domain_state(domain, 'streaming');
	RETURN n;
END
$$;

-- The members of the partition tree rel belongs to (from its root; rel
-- and its inheritance children when it is no partition), with their
-- relkind, whether they have a trigger of that name, and whether the
-- current transaction made them partitions or children (attached_now),
-- as the catalog shows them now: in REPEATABLE READ or SERIALIZABLE, a
-- query of pg_class, pg_inherits or pg_trigger reads the transaction
-- snapshot, which may predate a partition or triggers another session
-- committed since (src/catalog_now.c).  The freeze below and the loose
-- foreign keys (boundaries.sql) use it.
CREATE FUNCTION migration_split.relation_tree_now(rel regclass, trigger name,
												  OUT member regclass, OUT relkind "char",
												  OUT has_trigger boolean,
												  OUT attached_now boolean)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'ms_relation_tree_now';

-- The arguments rel's trigger of that name passes to its function, as the
-- catalog shows them now; NULL when rel has no such trigger.
CREATE FUNCTION migration_split.trigger_args_now(rel regclass, trigger name)
RETURNS text[]
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'ms_trigger_args_now';

/*
 * Tables that join a frozen domain after the freeze are frozen too: a
 * partition created with CREATE TABLE ... PARTITION OF or attached with
 * ALTER TABLE ... ATTACH PARTITION, an inheritance child (CREATE TABLE ...
 * INHERITS, ALTER TABLE ... INHERIT) and a table tagged into the domain.
 * Statement triggers are not cloned to partitions and inheritance has no
 * triggers of its own, so without this a write straight to the new table
 * would pass (writes through a frozen parent are refused by the parent's
 * triggers).  The domain counts as frozen when it is in state "frozen",
 * "extracted" or "final" and some of its tables carry the freeze triggers:
 * while pg_restore loads the tags, before it creates the dumped triggers,
 * none does, and nothing is created that the dump's own CREATE TRIGGER
 * would then collide with.  With joined, only those of the domain's
 * tables are frozen: the event trigger passes the tables that the DDL's
 * transaction made partitions or children (with theirs), never a table
 * that lacks the triggers only because pg_restore -j is still creating the
 * dump's triggers in another session (its CREATE TRIGGER then failed:
 * already exists).  Returns the number of tables frozen.
 */
CREATE FUNCTION migration_split.freeze_new_write_targets(domain text,
														 joined pg_catalog.oid[] DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur			record;
	f			record;
	rel			regclass;
	n			pg_catalog.int8 := 0;
	kind		text;
	trg			name;
	events		text;
BEGIN
	SELECT l.state, COALESCE(l.service, '') AS service INTO cur
	  FROM migration_split.domain_lifecycle l
	 WHERE l.domain OPERATOR(pg_catalog.=) freeze_new_write_targets.domain;
	IF NOT FOUND OR cur.state NOT IN ('frozen', 'extracted', 'final') THEN
		RETURN 0;
	END IF;
	SELECT * INTO f FROM migration_split.frozen_table_count(domain);
	IF f.frozen OPERATOR(pg_catalog.=) 0 OR f.frozen OPERATOR(pg_catalog.=) f.tables THEN
		RETURN 0;
	END IF;
	-- frozen by a rollback (the service database): its triggers have the
	-- third argument
	SELECT CASE WHEN pg_catalog.bool_or(t.tgnargs OPERATOR(pg_catalog.=) 3) THEN ', ''monolith''' ELSE '' END
	  INTO kind
	  FROM migration_split.domain_write_targets(domain) r
	  JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) r::pg_catalog.oid
	 WHERE t.tgname OPERATOR(pg_catalog.=) 'migration_split_freeze'
	   AND t.tgfoid OPERATOR(pg_catalog.=) 'migration_split.refuse_frozen_write()'::pg_catalog.regprocedure;
	FOR rel IN SELECT r FROM migration_split.domain_write_targets(domain) r
				WHERE joined IS NULL OR r::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (joined) LOOP
		-- the two freeze triggers, each created when missing
		FOR trg, events IN VALUES ('migration_split_freeze', 'INSERT OR UPDATE OR DELETE'),
								  ('migration_split_freeze_truncate', 'TRUNCATE') LOOP
			IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
							WHERE t.tgrelid OPERATOR(pg_catalog.=) rel::pg_catalog.oid
							  AND t.tgname OPERATOR(pg_catalog.=) trg
							  AND t.tgfoid OPERATOR(pg_catalog.=) 'migration_split.refuse_frozen_write()'::pg_catalog.regprocedure) THEN
				EXECUTE pg_catalog.format(
					'CREATE TRIGGER %I BEFORE %s ON %s'
					' FOR EACH STATEMENT EXECUTE FUNCTION migration_split.refuse_frozen_write(%L, %L%s)',
					trg, events, rel, domain, cur.service, kind);
				IF events OPERATOR(pg_catalog.<>) 'TRUNCATE' THEN
					n := n OPERATOR(pg_catalog.+) 1;
				END IF;
			END IF;
		END LOOP;
	END LOOP;
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION migration_split.freeze_new_write_targets(text, pg_catalog.oid[]) FROM PUBLIC;

-- A tag written into a frozen domain freezes the table (and its
-- partitions and children).  Runs as the extension's owner: the tagger
-- may be an administrator who does not own the table.
CREATE FUNCTION migration_split.freeze_tagged_table()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM migration_split.freeze_new_write_targets(NEW.domain);
	RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION migration_split.freeze_tagged_table() FROM PUBLIC;

CREATE TRIGGER ownership_freeze_tagged
	AFTER INSERT OR UPDATE OF rel, domain ON migration_split.ownership
	FOR EACH ROW EXECUTE FUNCTION migration_split.freeze_tagged_table();

-- After CREATE TABLE and ALTER TABLE (a partition or inheritance child
-- created or attached): freeze the new tables of every frozen domain.
-- New: the members of the touched tables' trees whose pg_inherits row
-- this transaction wrote (relation_tree_now()), with their partitions and
-- children.  In REPEATABLE READ or SERIALIZABLE, whose snapshot may not
-- show a freeze committed since, a new table whose parent has the freeze
-- triggers in the catalog now gets them too, with the parent's arguments
-- (trigger_args_now()): a partition created in a transaction older than
-- the freeze took writes after it.
-- Runs as the extension's owner, like the other event triggers.
CREATE FUNCTION migration_split.freeze_new_tables()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d			text;
	joined		pg_catalog.oid[];
	rc			boolean;
	j			pg_catalog.oid;
	args		text[];
	more		boolean;
	trg			name;
	events		text;
BEGIN
	-- DROP EXTENSION ... or a half-installed extension
	IF pg_catalog.to_regclass('migration_split.domain_transitions') IS NULL THEN
		RETURN;
	END IF;
	rc := pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed';
	IF rc AND NOT EXISTS (SELECT FROM migration_split.domain_lifecycle l
						   WHERE l.state IN ('frozen', 'extracted', 'final')) THEN
		RETURN;
	END IF;
	SELECT pg_catalog.array_agg(DISTINCT s.relid) INTO joined
	  FROM pg_catalog.pg_event_trigger_ddl_commands() c
	  JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) c.objid
	 CROSS JOIN LATERAL migration_split.relation_tree_now(k.oid::pg_catalog.regclass,
														  'migration_split_freeze') t
	 CROSS JOIN LATERAL (SELECT t.member::pg_catalog.oid AS relid
						 UNION
						 SELECT p.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree(t.member) p) s
	 WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND k.relkind IN ('r', 'p', 'f')
	   AND t.attached_now
	   AND t.relkind IN ('r', 'p');
	IF joined IS NULL THEN
		RETURN;
	END IF;
	FOR d IN
		SELECT l.domain FROM migration_split.domain_lifecycle l
		 WHERE l.state IN ('frozen', 'extracted', 'final')
		 ORDER BY l.domain
	LOOP
		PERFORM migration_split.freeze_new_write_targets(d, joined);
	END LOOP;
	IF rc THEN
		RETURN;
	END IF;
	-- parents before children: again while a table got them
	LOOP
		more := false;
		FOREACH j IN ARRAY joined LOOP
			CONTINUE WHEN migration_split.trigger_args_now(j::pg_catalog.regclass, 'migration_split_freeze') IS NOT NULL;
			-- plain and partitioned tables only, as domain_write_targets()
			CONTINUE WHEN NOT EXISTS (SELECT FROM migration_split.relation_tree_now(j::pg_catalog.regclass,
																					 'migration_split_freeze') t
									   WHERE t.member::pg_catalog.oid OPERATOR(pg_catalog.=) j
										 AND t.relkind IN ('r', 'p'));
			SELECT a INTO args
			  FROM pg_catalog.pg_inherits i
			 CROSS JOIN LATERAL migration_split.trigger_args_now(i.inhparent::pg_catalog.regclass,
																  'migration_split_freeze') a
			 WHERE i.inhrelid OPERATOR(pg_catalog.=) j
			   AND a IS NOT NULL
			 ORDER BY i.inhseqno
			 LIMIT 1;
			CONTINUE WHEN args IS NULL;
			FOR trg, events IN VALUES ('migration_split_freeze', 'INSERT OR UPDATE OR DELETE'),
									  ('migration_split_freeze_truncate', 'TRUNCATE') LOOP
				CONTINUE WHEN migration_split.trigger_args_now(j::pg_catalog.regclass, trg) IS NOT NULL;
				EXECUTE pg_catalog.format(
					'CREATE TRIGGER %I BEFORE %s ON %s'
					' FOR EACH STATEMENT EXECUTE FUNCTION migration_split.refuse_frozen_write(%s)',
					trg, events, j::pg_catalog.regclass,
					(SELECT pg_catalog.string_agg(pg_catalog.quote_literal(x), ', ' ORDER BY o)
					   FROM pg_catalog.unnest(args) WITH ORDINALITY u(x, o)));
			END LOOP;
			more := true;
		END LOOP;
		EXIT WHEN NOT more;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION migration_split.freeze_new_tables() FROM PUBLIC;

CREATE EVENT TRIGGER migration_split_freeze_new_tables ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION migration_split.freeze_new_tables();
-- also for DDL under session_replication_role = replica
ALTER EVENT TRIGGER migration_split_freeze_new_tables ENABLE ALWAYS;

REVOKE ALL ON migration_split.domain_transitions FROM PUBLIC;
GRANT SELECT ON migration_split.domain_transitions,
	migration_split.domain_lifecycle TO PUBLIC;
GRANT INSERT ON migration_split.domain_transitions TO migration_split_admin;

--------------------------------------------------------------------------
-- 6.2 Strangler read path
--------------------------------------------------------------------------

/*
 * After the freeze, the monolith's tables of a domain can be replaced by
 * postgres_fdw foreign tables of the same names and columns that read the
 * service's tables, so that legacy code and reports keep reading current
 * data.  The monolith's tables are moved, not dropped, to schema
 * migration_split_archive (indexes, constraints, owned sequences, tags and
 * the freeze triggers go with them).  One row per replaced table.  The
 * foreign tables are tagged with the domain: the runtime monitor, which
 * asks the ownership cache like for any table, then records every
 * statement that reads them as a remote call into the domain
 * (cross_domain_queries.remote_domains, domain_runtime_stats.remote_*);
 * dropping them (disable_read_path) removes their tags.
 */
CREATE TABLE migration_split.read_paths (
	archived		regclass PRIMARY KEY,
	foreign_table	regclass NOT NULL UNIQUE,
	domain			text NOT NULL
					REFERENCES migration_split.domains (domain) ON UPDATE CASCADE,
	original_schema	name NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by		name NOT NULL DEFAULT CURRENT_USER
);

SELECT pg_catalog.pg_extension_config_dump('migration_split.read_paths', '');

COMMENT ON TABLE migration_split.read_paths IS
	'tables of extracted domains replaced by foreign tables that read the service: the archived table, the foreign table, the domain';

-- Replace the tagged tables of a frozen or extracted domain by foreign
-- tables on server "server" (postgres_fdw) that read the tables of the
-- same names in schema remote_schema (default: the domain's name, the
-- job's default target schema).  Columns: the names and types of the
-- monolith's table.  Writes through them are refused by postgres_fdw
-- (updatable 'false') unless writable is true.  The foreign tables get
-- the privileges the tables had.  Connection options and credentials are
-- the server's and its user mappings': nothing is passed here.  Returns
-- the number of tables replaced.
CREATE FUNCTION migration_split.enable_read_path(domain text, server name,
												 remote_schema name DEFAULT NULL,
												 writable boolean DEFAULT false)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur			text;
	t			record;
	cols		text;
	ft			regclass;
	acl			record;
	v			record;
	n			pg_catalog.int8 := 0;
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the read path of domain "%"', domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may change the lifecycle state of domains.';
	END IF;
	PERFORM migration_split.require_domain(domain);
	PERFORM migration_split.require_argument(server, 'server');
	PERFORM migration_split.require_argument(writable, 'writable');
	remote_schema := COALESCE(remote_schema, domain);
	SELECT l.state INTO cur FROM migration_split.domain_lifecycle l
	 WHERE l.domain OPERATOR(pg_catalog.=) enable_read_path.domain;
	IF cur NOT IN ('frozen', 'extracted') THEN
		RAISE EXCEPTION 'domain "%" is not frozen', domain
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Domain "%s" is in state "%s"; the monolith may still write to its tables.', domain, cur),
				  HINT = 'The read path replaces the tables of a frozen or extracted domain: run migration-split cutover first.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_server s
					 JOIN pg_catalog.pg_foreign_data_wrapper w
					   ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
					WHERE s.srvname OPERATOR(pg_catalog.=) server
					  AND w.fdwname OPERATOR(pg_catalog.=) 'postgres_fdw') THEN
		RAISE EXCEPTION 'server "%" is not a postgres_fdw server', server
			USING ERRCODE = 'undefined_object',
				  HINT = 'CREATE EXTENSION postgres_fdw; CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host ..., dbname ...); and a user mapping per role that reads.';
	END IF;
	IF pg_catalog.to_regnamespace('migration_split_archive') IS NULL THEN
		CREATE SCHEMA migration_split_archive;
	END IF;

	FOR t IN
		SELECT o.rel, c.relname, n.nspname
		  FROM migration_split.ownership o
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) o.rel::pg_catalog.oid
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		 WHERE o.domain OPERATOR(pg_catalog.=) enable_read_path.domain
		   AND c.relkind IN ('r', 'p')
		   AND NOT EXISTS (SELECT FROM migration_split.read_paths p
							WHERE p.archived OPERATOR(pg_catalog.=) o.rel)
		 ORDER BY o.rel::pg_catalog.oid
	LOOP
		IF pg_catalog.to_regclass(pg_catalog.format('migration_split_archive.%I', t.relname)) IS NOT NULL THEN
			RAISE EXCEPTION 'cannot archive table %: migration_split_archive.% exists', t.rel,
				pg_catalog.quote_ident(t.relname)
				USING ERRCODE = 'duplicate_table',
					  HINT = 'Rename one of the tables.';
		END IF;
		SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname,
							pg_catalog.format_type(a.atttypid, a.atttypmod)),
							', ' ORDER BY a.attnum)
		  INTO cols
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) t.rel::pg_catalog.oid
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
		-- views reading the table keep reading the archived one
		FOR v IN
			SELECT DISTINCT r.ev_class::pg_catalog.regclass AS view
			  FROM pg_catalog.pg_depend d
			  JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid
			 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
			   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
			   AND d.refobjid OPERATOR(pg_catalog.=) t.rel::pg_catalog.oid
			   AND r.ev_class OPERATOR(pg_catalog.<>) t.rel::pg_catalog.oid
		LOOP
			RAISE WARNING 'view % keeps reading the archived table %', v.view, t.rel
				USING DETAIL = 'A view refers to its tables by OID, not by name.',
					  HINT = 'Recreate the view to read the foreign table.';
		END LOOP;
		EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA migration_split_archive', t.rel);
		EXECUTE pg_catalog.format(
			'CREATE FOREIGN TABLE %I.%I (%s) SERVER %I OPTIONS (schema_name %L, table_name %L, updatable %L)',
			t.nspname, t.relname, cols, server, remote_schema, t.relname,
			CASE WHEN writable THEN 'true' ELSE 'false' END);
		ft := pg_catalog.format('%I.%I', t.nspname, t.relname)::regclass;
		-- the privileges the table had (owner's implied ones excepted)
		FOR acl IN
			SELECT e.grantee, e.privilege_type, e.is_grantable
			  FROM pg_catalog.pg_class c,
				   LATERAL pg_catalog.aclexplode(c.relacl) e
			 WHERE c.oid OPERATOR(pg_catalog.=) t.rel::pg_catalog.oid
			   AND e.grantee OPERATOR(pg_catalog.<>) c.relowner
			   AND e.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
		LOOP
			EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s', acl.privilege_type, ft,
				CASE WHEN acl.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
					 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(acl.grantee)) END,
				CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
		END LOOP;
		INSERT INTO migration_split.read_paths (archived, foreign_table, domain, original_schema)
		VALUES (t.rel, ft, domain, t.nspname);
		-- the foreign table is the domain's: reads of it are remote calls
		INSERT INTO migration_split.ownership (rel, domain) VALUES (ft, domain);
		n := n OPERATOR(pg_catalog.+) 1;
	END LOOP;
	IF n OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'domain "%" has no tables to replace', domain
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Its tables are replaced already, or it has none.';
	END IF;
	RETURN n;
END
$$;

-- Undo enable_read_path(): drop the foreign tables and move the archived
-- tables back to their schemas.  Returns the number of tables restored.
CREATE FUNCTION migration_split.disable_read_path(domain text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p			record;
	n			pg_catalog.int8 := 0;
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the read path of domain "%"', domain
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may change the lifecycle state of domains.';
	END IF;
	PERFORM migration_split.require_domain(domain);
	FOR p IN
		SELECT r.archived, r.foreign_table, r.original_schema
		  FROM migration_split.read_paths r
		 WHERE r.domain OPERATOR(pg_catalog.=) disable_read_path.domain
		 ORDER BY r.archived::pg_catalog.oid
	LOOP
		DELETE FROM migration_split.read_paths r
		 WHERE r.archived OPERATOR(pg_catalog.=) p.archived;
		EXECUTE pg_catalog.format('DROP FOREIGN TABLE %s', p.foreign_table);
		EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA %I', p.archived, p.original_schema);
		n := n OPERATOR(pg_catalog.+) 1;
	END LOOP;
	RETURN n;
END
$$;

REVOKE ALL ON migration_split.read_paths FROM PUBLIC;
GRANT SELECT ON migration_split.read_paths TO PUBLIC;
GRANT INSERT, DELETE ON migration_split.read_paths TO migration_split_admin;
