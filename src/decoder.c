/*-------------------------------------------------------------------------
 *
 * decoder.c
 *		Logical decoding output plugin "migration_split".
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "replication/output_plugin.h"

#include "migration_split.h"

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);
