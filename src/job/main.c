/*-------------------------------------------------------------------------
 *
 * main.c
 *		Entry point of the migration-split replication job.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

int
main(int argc, char **argv)
{
	pg_logging_init(argv[0]);
	pg_log_error("not implemented yet");
	return 1;
}
