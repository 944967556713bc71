/*-------------------------------------------------------------------------
 *
 * binparam.h
 *		Values of a few built-in types in the protocol's binary format, for
 *		the apply's statement parameters (see binparam.c).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_BINPARAM_H
#define MS_JOB_BINPARAM_H

#include <stdbool.h>

#include "pqexpbuffer.h"

/* The types whose text the job turns into binary; BIN_NONE: text only. */
typedef enum BinKind
{
	BIN_NONE = 0,
	BIN_BOOL,
	BIN_INT2,
	BIN_INT4,
	BIN_INT8,
	BIN_DATE,
	BIN_TIMESTAMP,
	BIN_TIMESTAMPTZ,
	BIN_TEXT,
	BIN_VARCHAR
} BinKind;

extern BinKind binparam_kind(unsigned int typoid);
extern unsigned int binparam_typoid(BinKind kind);
extern bool binparam_append(PQExpBuffer buf, BinKind kind, const char *text);
extern bool binparam_array(PQExpBuffer buf, BinKind kind, const char *const *vals,
						   int n, int stride);

#endif							/* MS_JOB_BINPARAM_H */
