--------------------------------------------------------------------------
-- ownership: changes since 1.0 (see src/sql/ownership.sql for the whole definition)
--------------------------------------------------------------------------

-- TRUNCATE would give the table a new file: logical decoding, which reads
-- it with historic snapshots, could then no longer read the tags of any
-- transaction before the TRUNCATE, and every slot of the database behind
-- it would fail for good.  Tags are removed with DELETE.
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
