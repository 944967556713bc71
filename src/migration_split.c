/*-------------------------------------------------------------------------
 *
 * migration_split.c
 *		Library entry point: module magic and _PG_init.
 *
 * The library is loaded three ways: by CREATE EXTENSION / a SQL function
 * call (ownership functions and reports), as a logical decoding output
 * plugin (decoder.c), and from shared_preload_libraries (runtime monitor).
 * Only the last installs hooks and shared memory; the others must work
 * without it, as pg_stat_statements' SQL functions do.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "migration_split.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load callback.  The runtime monitor needs shared memory and hooks,
 * which can only be set up while shared_preload_libraries is processed.
 */
void
_PG_init(void)
{
	if (process_shared_preload_libraries_in_progress)
		ms_monitor_init();

	MarkGUCPrefixReserved("migration_split");
}
