/*-------------------------------------------------------------------------
 *
 * loose_foreign_keys.c
 *		Run a clean-up statement of a loose foreign key as a table's owner.
 *
 * process_loose_foreign_keys() (src/sql/boundaries.sql) checks that a
 * queued key is gone as the owner of the referenced table and deletes or
 * updates the referencing rows as the owner of the referencing table, as
 * PostgreSQL's RI triggers do (ri_PerformCheck() in ri_triggers.c).  SET
 * ROLE cannot do this safely: the owner's code that the statement runs (a
 * trigger, a domain's CHECK, a cast) could RESET ROLE and go on with the
 * rights of the caller, often a superuser.  Like the RI triggers, this
 * file switches the user id with SECURITY_LOCAL_USERID_CHANGE, under which
 * SET ROLE and SET SESSION AUTHORIZATION fail, and SECURITY_NOFORCE_RLS
 * (the owner's own policies do not apply to it).
 *
 * The previous user id and security context are restored on return; on
 * error, transaction or subtransaction abort restores them.  The result is
 * copied out of the SPI context before SPI_finish().
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(ms_run_as_table_owner);

/*
 * migration_split.run_as_table_owner(rel regclass, query text,
 *		keys text[], subscripts integer[],
 *		OUT processed bigint, OUT result integer[])
 *
 * Execute query, with $1 = keys and $2 = subscripts, as the owner of rel;
 * return the number of rows it processed and the first column of its first
 * row (NULL when it returns no row).  The caller must be a member of the
 * owning role (what SET ROLE would need): the function gives no right the
 * caller does not have, it only takes the caller's away while the query
 * runs.
 */
Datum
ms_run_as_table_owner(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *query;
	HeapTuple	tuple;
	Oid			owner;
	Oid			save_userid;
	int			save_sec_context;
	Oid			argtypes[2] = {TEXTARRAYOID, INT4ARRAYOID};
	Datum		args[2];
	char		argnulls[2];
	int			ret;
	uint64		processed;
	Datum		result = (Datum) 0;
	bool		result_isnull = true;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		elog(ERROR, "run_as_table_owner: rel and query must not be null");
	relid = PG_GETARG_OID(0);
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	args[0] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	argnulls[0] = PG_ARGISNULL(2) ? 'n' : ' ';
	args[1] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	argnulls[1] = PG_ARGISNULL(3) ? 'n' : ' ';

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);

	if (!is_member_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to run a statement as the owner of table \"%s\"",
						get_rel_name(relid)),
				 errdetail("Only members of role \"%s\" may.",
						   GetUserNameFromId(owner, false))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);

	ret = SPI_execute_with_args(query, 2, argtypes, args, argnulls, false, 0);
	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	processed = SPI_processed;
	if (SPI_tuptable != NULL && SPI_processed > 0 &&
		SPI_tuptable->tupdesc->natts >= 1)
	{
		Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, 0);

		if (att->atttypid != INT4ARRAYOID)
			elog(ERROR, "run_as_table_owner: the query's first column must be integer[]");
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
							   &result_isnull);
		if (!result_isnull)
			result = SPI_datumTransfer(result, false, -1);
	}

	SetUserIdAndSecContext(save_userid, save_sec_context);
	SPI_finish();

	values[0] = Int64GetDatum((int64) processed);
	nulls[0] = false;
	values[1] = result;
	nulls[1] = result_isnull;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
