/*-------------------------------------------------------------------------
 *
 * decoder.h
 *		Declarations shared by the files of the output plugin: decoder.c
 *		(callbacks, relation cache) and decoder_json.c (the JSON writer).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATION_SPLIT_DECODER_H
#define MIGRATION_SPLIT_DECODER_H

#include "postgres.h"

#include "lib/stringinfo.h"

/*
 * How a column's value is turned into text.  The common types have fast
 * paths that skip the function manager; everything else calls the type's
 * output function, so the text is exactly what the type prints.
 */
typedef enum MsOutKind
{
	MS_OUT_GENERIC = 0,			/* type output function */
	MS_OUT_INT2,
	MS_OUT_INT4,
	MS_OUT_INT8,
	MS_OUT_BOOL,
	MS_OUT_TEXTLIKE				/* text, varchar, bpchar, json: stored bytes */
} MsOutKind;

/* decoder_json.c */
extern void ms_json_init_encoding(void);
extern void ms_json_string(StringInfo buf, const char *s, int len);
extern void ms_json_cstring(StringInfo buf, const char *s);
extern MsOutKind ms_json_out_kind(Oid typid);
extern void ms_json_value(StringInfo buf, Datum value, MsOutKind kind,
						  FmgrInfo *outfunc);

#endif							/* MIGRATION_SPLIT_DECODER_H */
