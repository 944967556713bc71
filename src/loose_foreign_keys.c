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
 * The queued keys, text, are turned into their types here, by OID and with
 * the types' input functions, so that the statement names no type and
 * runs no cast from text.
 *
 * The previous user id and security context are restored on return; on
 * error, transaction or subtransaction abort restores them.  The result is
 * copied out of the SPI context before SPI_finish(), which frees the typed
 * keys (made in that context).
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(ms_run_as_table_owner);

/*
 * Turn the queued keys (a two-dimensional text array, one row per key, one
 * column per key column, as the queue trigger wrote them) into one array
 * per key column, of that column's type, with the type's input function:
 * as the statement's parameters $2, $3, ..., typed by OID, so that the
 * statement names no type (its owner may lack USAGE on the type's schema)
 * and no cast from text runs (a cast that the type's owner created would).
 * Runs after the switch to the table's owner: a domain's CHECK runs as the
 * owner, as it would for the owner's own INSERT.
 */
static void
ms_typed_key_columns(ArrayType *keys, ArrayType *types, ArrayType *typmods,
					 Oid *argtypes, Datum *args, char *argnulls)
{
	Datum	   *key_texts;
	bool	   *key_nulls;
	int			nkeys;
	Datum	   *type_datums;
	Datum	   *typmod_datums;
	int			ncols;
	int			ntypmods;
	int			rows;
	int			col;

	deconstruct_array(types, OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					  &type_datums, NULL, &ncols);
	deconstruct_array(typmods, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &typmod_datums, NULL, &ntypmods);
	if (ncols > INDEX_MAX_KEYS || ntypmods != ncols)
		elog(ERROR, "run_as_table_owner: %d key types and %d typmods", ncols, ntypmods);
	if (ncols == 0)
		return;					/* a statement without keys */
	if (ARR_NDIM(keys) != 2 || ARR_DIMS(keys)[1] != ncols)
		elog(ERROR, "run_as_table_owner: keys must have %d columns", ncols);
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT,
					  &key_texts, &key_nulls, &nkeys);
	rows = ARR_DIMS(keys)[0];

	for (col = 0; col < ncols; col++)
	{
		Oid			typid = DatumGetObjectId(type_datums[col]);
		int32		typmod = DatumGetInt32(typmod_datums[col]);
		Oid			arraytype = get_array_type(typid);
		Oid			typinput;
		Oid			typioparam;
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *values = palloc(sizeof(Datum) * rows);
		int			row;

		if (!OidIsValid(arraytype))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("type %s of a loose foreign key has no array type",
							format_type_be(typid))));
		getTypeInputInfo(typid, &typinput, &typioparam);
		get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
		for (row = 0; row < rows; row++)
		{
			int			i = row * ncols + col;

			if (key_nulls[i])
				elog(ERROR, "run_as_table_owner: a queued key has a NULL column");
			values[row] = OidInputFunctionCall(typinput,
											   TextDatumGetCString(key_texts[i]),
											   typioparam, typmod);
		}
		argtypes[col + 1] = arraytype;
		args[col + 1] = PointerGetDatum(construct_array(values, rows, typid,
														typlen, typbyval, typalign));
		argnulls[col + 1] = ' ';
	}
}

/*
 * migration_split.run_as_table_owner(rel regclass, query text,
 *		keys text[], key_types oid[], key_typmods integer[],
 *		subscripts integer[], OUT processed bigint, OUT result integer[])
 *
 * Execute query as the owner of rel, with $1 = subscripts and $2, $3, ...
 * = the key columns, typed (ms_typed_key_columns(); none when key_types
 * is empty: tighten_foreign_key() adds a constraint); return the number of
 * rows it processed and the first column of its first row (NULL when it
 * returns no row).  The caller must be a member of the owning role (what
 * SET ROLE would need): the function gives no right the caller does not
 * have, it only takes the caller's away while the query runs.
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
	Oid			argtypes[INDEX_MAX_KEYS + 1];
	Datum		args[INDEX_MAX_KEYS + 1];
	char		argnulls[INDEX_MAX_KEYS + 1];
	int			nargs;
	int			ret;
	uint64		processed;
	Datum		result = (Datum) 0;
	bool		result_isnull = true;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		PG_ARGISNULL(3) || PG_ARGISNULL(4))
		elog(ERROR, "run_as_table_owner: only subscripts may be null");
	relid = PG_GETARG_OID(0);
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));

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

	argtypes[0] = INT4ARRAYOID;
	args[0] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
	argnulls[0] = PG_ARGISNULL(5) ? 'n' : ' ';
	ms_typed_key_columns(PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_ARRAYTYPE_P(3),
						 PG_GETARG_ARRAYTYPE_P(4), argtypes, args, argnulls);
	nargs = 1 + ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(3)),
							   ARR_DIMS(PG_GETARG_ARRAYTYPE_P(3)));

	ret = SPI_execute_with_args(query, nargs, argtypes, args, argnulls, false, 0);
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
