/*-------------------------------------------------------------------------
 *
 * decoder_json.c
 *		The JSON writer of the output plugin: string escaping and column
 *		values, on the hot path of every emitted change.
 *
 * Every column value is written as a JSON string holding the type's text
 * output (or JSON null, decided by the caller), so that a consumer can feed
 * it back to the type's input function and get the same value.  Escaping
 * follows RFC 8259 exactly: '"' and '\' are escaped as \" and \\, every
 * control character below 0x20 as \u00XX (also newline and tab: one rule,
 * easy to check), everything else (including non-ASCII UTF-8) is copied as
 * is.  Databases in another server encoding have their strings converted to
 * UTF-8.
 *
 * Runs of characters that need no escaping are copied with one memcpy; the
 * common types (integers, booleans, text-like types) are printed without
 * going through the function manager.
 *
 * Memory: everything is appended to the caller's StringInfo; temporaries
 * (detoasted values, output function results) are allocated in the current
 * memory context, which the output plugin resets after every change.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "decoder.h"

/* Non-zero for bytes that cannot appear unescaped in a JSON string. */
static const unsigned char json_escape_needed[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,	/* '\\' */
};

static const char hexdigits[] = "0123456789abcdef";

/* True when the database encoding is neither UTF-8 nor SQL_ASCII. */
static bool json_convert_to_utf8 = false;

/*
 * Decide once per decoding session whether strings need converting to
 * UTF-8.
 */
void
ms_json_init_encoding(void)
{
	int			enc = GetDatabaseEncoding();

	json_convert_to_utf8 = (enc != PG_UTF8 && enc != PG_SQL_ASCII);
}

/*
 * Append s[0..len) as a quoted, escaped JSON string.
 */
void
ms_json_string(StringInfo buf, const char *s, int len)
{
	const unsigned char *p;
	const unsigned char *end;
	const unsigned char *run;

	if (json_convert_to_utf8)
	{
		int			i;

		for (i = 0; i < len; i++)
		{
			if (IS_HIGHBIT_SET(s[i]))
			{
				s = pg_server_to_any(s, len, PG_UTF8);
				len = strlen(s);
				break;
			}
		}
	}

	/* The common case (nothing to escape) needs exactly len + 2 bytes. */
	enlargeStringInfo(buf, len + 2);
	buf->data[buf->len++] = '"';

	p = run = (const unsigned char *) s;
	end = p + len;
	for (; p < end; p++)
	{
		unsigned char c = *p;

		if (likely(!json_escape_needed[c]))
			continue;

		if (p > run)
			appendBinaryStringInfoNT(buf, (const char *) run, p - run);
		run = p + 1;

		enlargeStringInfo(buf, 6 + (end - p));
		buf->data[buf->len++] = '\\';
		switch (c)
		{
			case '"':
				buf->data[buf->len++] = '"';
				break;
			case '\\':
				buf->data[buf->len++] = '\\';
				break;
			default:
				buf->data[buf->len++] = 'u';
				buf->data[buf->len++] = '0';
				buf->data[buf->len++] = '0';
				buf->data[buf->len++] = hexdigits[c >> 4];
				buf->data[buf->len++] = hexdigits[c & 0x0f];
				break;
		}
	}
	if (p > run)
		appendBinaryStringInfoNT(buf, (const char *) run, p - run);
	appendStringInfoCharMacro(buf, '"');
}

/*
 * Append a NUL-terminated string as a JSON string.
 */
void
ms_json_cstring(StringInfo buf, const char *s)
{
	ms_json_string(buf, s, strlen(s));
}

/*
 * The fast path, if any, for values of type typid.  Domains are resolved
 * by the caller (their output function is the base type's).
 */
MsOutKind
ms_json_out_kind(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return MS_OUT_INT2;
		case INT4OID:
			return MS_OUT_INT4;
		case INT8OID:
			return MS_OUT_INT8;
		case BOOLOID:
			return MS_OUT_BOOL;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case JSONOID:
			return MS_OUT_TEXTLIKE;
		default:
			return MS_OUT_GENERIC;
	}
}

/*
 * Append one non-null column value as a JSON string holding its text
 * output.  The value must not be an unchanged (on-disk) TOAST pointer.
 */
void
ms_json_value(StringInfo buf, Datum value, MsOutKind kind, FmgrInfo *outfunc)
{
	char		num[MAXINT8LEN + 3];
	int			n;

	switch (kind)
	{
		case MS_OUT_INT2:
		case MS_OUT_INT4:
			num[0] = '"';
			n = pg_ltoa(kind == MS_OUT_INT2 ? (int32) DatumGetInt16(value) :
						DatumGetInt32(value), num + 1);
			num[n + 1] = '"';
			appendBinaryStringInfoNT(buf, num, n + 2);
			break;
		case MS_OUT_INT8:
			num[0] = '"';
			n = pg_lltoa(DatumGetInt64(value), num + 1);
			num[n + 1] = '"';
			appendBinaryStringInfoNT(buf, num, n + 2);
			break;
		case MS_OUT_BOOL:
			appendBinaryStringInfoNT(buf, DatumGetBool(value) ? "\"t\"" : "\"f\"", 3);
			break;
		case MS_OUT_TEXTLIKE:
			{
				struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

				ms_json_string(buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			}
			break;
		default:
			ms_json_cstring(buf, OutputFunctionCall(outfunc, value));
			break;
	}
}
