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
	MS_OUT_TEXTLIKE,			/* text, varchar, bpchar, json: stored bytes */
	MS_OUT_NUMERIC,				/* numeric: digits printed from the datum */
	MS_OUT_TIMESTAMP,			/* timestamp: no function manager */
	MS_OUT_TIMESTAMPTZ			/* timestamptz: no time zone lookup when the
								 * session's zone has a fixed offset */
} MsOutKind;

/*
 * Appending to the output buffer without a function call per piece.  The
 * buffer is not NUL-terminated after each piece (ms_buf_reserve keeps room
 * for the terminator; ms_buf_finish writes it): OutputPluginWrite uses the
 * length.
 */
static inline void
ms_buf_reserve(StringInfo buf, int n)
{
	if (unlikely(buf->len + n >= buf->maxlen))
		enlargeStringInfo(buf, n);
}

static inline void
ms_buf_char(StringInfo buf, char c)
{
	ms_buf_reserve(buf, 1);
	buf->data[buf->len++] = c;
}

static inline void
ms_buf_bytes(StringInfo buf, const char *s, int n)
{
	ms_buf_reserve(buf, n);
	memcpy(buf->data + buf->len, s, n);
	buf->len += n;
}

/* Append a string literal: its length is known at compile time. */
#define ms_buf_literal(buf, lit) ms_buf_bytes((buf), "" lit, sizeof(lit) - 1)

static inline void
ms_buf_finish(StringInfo buf)
{
	buf->data[buf->len] = '\0';
}

/* decoder_json.c */
extern void ms_json_init_session(void);
extern void ms_json_string(StringInfo buf, const char *s, int len);
extern void ms_json_cstring(StringInfo buf, const char *s);
extern MsOutKind ms_json_out_kind(Oid typid);
extern void ms_json_value(StringInfo buf, Datum value, MsOutKind kind,
						  FmgrInfo *outfunc);

#endif							/* MIGRATION_SPLIT_DECODER_H */
