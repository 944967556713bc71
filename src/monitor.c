/*-------------------------------------------------------------------------
 *
 * monitor.c
 *		Runtime boundary monitor (executor hooks, shared memory).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "migration_split.h"

/*
 * Install hooks and request shared memory; called from _PG_init only while
 * shared_preload_libraries is being processed.
 */
void
ms_monitor_init(void)
{
}
