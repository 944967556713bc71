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
 * Strings are scanned and copied eight bytes at a time while no byte needs
 * escaping (a word-at-a-time test for '"', '\\' and bytes below 0x20).  The
 * common types are printed straight into the output buffer, without the
 * function manager and the palloc'd result of an output function:
 * integers with pg_ltoa/pg_lltoa, text-like types as their stored bytes,
 * numeric from its stored base-10000 digits (the algorithm of numeric_out),
 * timestamp with timestamp2tm and, in DateStyle ISO, our own digits (the
 * format of EncodeDateTime).  timestamptz skips the time zone lookup only
 * when the session's TimeZone has one fixed UTC offset and DateStyle is
 * ISO, after checking at session start that it prints sample values
 * exactly as timestamptz_out does (and while TimeZone and DateStyle stay
 * those); otherwise, and for every other type, the
 * type's output function is called.  Test decoder_fastpaths compares every
 * fast path with the output functions.
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
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

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
 * timestamptz fast path: usable when the session's time zone has a fixed
 * UTC offset (seconds east of Greenwich) and DateStyle is ISO.
 */
static bool json_tstz_fixed = false;
static pg_tz *json_tstz_zone = NULL;	/* the zone it was decided for */
static long json_tstz_gmtoff = 0;
static char json_tstz_suffix[16];	/* the offset as printed: "+00" */
static int	json_tstz_suffixlen = 0;

/* Word-at-a-time test: some byte of w is below 0x20, '"' or '\\'. */
#define ONES	UINT64CONST(0x0101010101010101)
#define HIGHS	UINT64CONST(0x8080808080808080)

static inline bool
json_word_needs_escape(uint64 w)
{
	uint64		quote = w ^ (ONES * '"');
	uint64		bslash = w ^ (ONES * '\\');

	/* exact for "any byte below n" with n <= 0x80 (zero byte: n = 1) */
	return (((w - ONES * 0x20) & ~w) |
			((quote - ONES) & ~quote) |
			((bslash - ONES) & ~bslash)) & HIGHS;
}

static char *ms_json_tstz_fast(TimestampTz dt, char *str);

/*
 * Decide once per decoding session whether strings need converting to
 * UTF-8 and whether the timestamptz fast path applies.
 */
void
ms_json_init_session(void)
{
	int			enc = GetDatabaseEncoding();
	long		gmtoff;

	json_convert_to_utf8 = (enc != PG_UTF8 && enc != PG_SQL_ASCII);

	json_tstz_fixed = false;
	if (DateStyle == USE_ISO_DATES &&
		pg_get_timezone_offset(session_timezone, &gmtoff))
	{
		/*
		 * One offset in the zone's type table does not exclude leap
		 * seconds (the "right/" zones, which PostgreSQL refuses today):
		 * compare some values with the output function before trusting the
		 * arithmetic.
		 */
		static const TimestampTz samples[] = {
			INT64CONST(0),		/* 2000-01-01 00:00:00 UTC */
			INT64CONST(-3155673600000000),	/* 1900-01-01 00:00:00 */
			INT64CONST(838956896789012),	/* 2026-08-02 03:34:56.789012 */
			INT64CONST(-64464465599500000),	/* 0044-03-15 12:00:00.5 BC */
			INT64CONST(316400886489010000),	/* 12026-05-06 07:08:09.01 */
		};
		struct pg_tm tm;
		fsec_t		fsec;
		char		fast[MAXDATELEN + 1];
		char		slow[MAXDATELEN + 1];
		int			i;

		/* the offset as timestamptz_out prints it: "+00", "+05:30", ... */
		if (timestamp2tm(0, NULL, &tm, &fsec, NULL, NULL) != 0)
			return;
		tm.tm_isdst = 0;
		EncodeDateTime(&tm, 0, true, (int) -gmtoff, NULL, USE_ISO_DATES, slow);
		if (strlen(slow) <= 19 || strlen(slow) - 19 >= sizeof(json_tstz_suffix))
			return;
		strcpy(json_tstz_suffix, slow + 19);
		json_tstz_suffixlen = strlen(json_tstz_suffix);

		json_tstz_zone = session_timezone;
		json_tstz_gmtoff = gmtoff;
		json_tstz_fixed = true;
		for (i = 0; i < lengthof(samples); i++)
		{
			char	   *out = DatumGetCString(DirectFunctionCall1(timestamptz_out,
																 TimestampTzGetDatum(samples[i])));
			char	   *end = ms_json_tstz_fast(samples[i], fast);

			if (end == NULL || end - fast != strlen(out) ||
				memcmp(fast, out, end - fast) != 0)
				json_tstz_fixed = false;
			pfree(out);
		}
	}
}

/*
 * Append s[0..len) as a quoted, escaped JSON string.
 */
void
ms_json_string(StringInfo buf, const char *s, int len)
{
	const char *p;
	const char *end;
	char	   *dst;

	if (unlikely(json_convert_to_utf8))
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

	/*
	 * Room for the string and both quotes; each escape reserves its extra
	 * bytes (and the rest of the string) again.
	 */
	ms_buf_reserve(buf, len + 2);
	buf->data[buf->len++] = '"';

	p = s;
	end = s + len;
	for (;;)
	{
		unsigned char c;

		/* Copy the run of bytes that need no escaping. */
		dst = buf->data + buf->len;
		while (end - p >= 8)
		{
			uint64		w;

			memcpy(&w, p, 8);
			if (json_word_needs_escape(w))
				break;
			memcpy(dst, &w, 8);
			p += 8;
			dst += 8;
		}
		while (p < end && !json_escape_needed[(unsigned char) *p])
			*dst++ = *p++;
		buf->len = dst - buf->data;
		if (p == end)
			break;

		/* Escape one byte: up to 6 bytes instead of 1. */
		c = (unsigned char) *p++;
		ms_buf_reserve(buf, 6 + (end - p) + 1);
		dst = buf->data + buf->len;
		*dst++ = '\\';
		switch (c)
		{
			case '"':
				*dst++ = '"';
				break;
			case '\\':
				*dst++ = '\\';
				break;
			default:
				*dst++ = 'u';
				*dst++ = '0';
				*dst++ = '0';
				*dst++ = hexdigits[c >> 4];
				*dst++ = hexdigits[c & 0x0f];
				break;
		}
		buf->len = dst - buf->data;
	}
	buf->data[buf->len++] = '"';
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
		case NUMERICOID:
			return MS_OUT_NUMERIC;
		case TIMESTAMPOID:
			return MS_OUT_TIMESTAMP;
		case TIMESTAMPTZOID:
			return MS_OUT_TIMESTAMPTZ;
		default:
			return MS_OUT_GENERIC;
	}
}

/* Two decimal digits of 0 <= v < 100. */
static inline char *
ms_two_digits(char *str, int v)
{
	str[0] = '0' + v / 10;
	str[1] = '0' + v % 10;
	return str + 2;
}

/*
 * What EncodeDateTime prints in DateStyle ISO before the time zone and the
 * era: "YYYY-MM-DD HH:MM:SS", then the microseconds without their trailing
 * zeroes when not zero.  Returns the end (not NUL-terminated).
 */
static char *
ms_iso_datetime(char *str, const struct pg_tm *tm, fsec_t fsec)
{
	int			year = tm->tm_year > 0 ? tm->tm_year : -(tm->tm_year - 1);

	if (year < 10000)
	{
		str = ms_two_digits(str, year / 100);
		str = ms_two_digits(str, year % 100);
	}
	else
		str = pg_ultostr_zeropad(str, year, 4);
	*str++ = '-';
	str = ms_two_digits(str, tm->tm_mon);
	*str++ = '-';
	str = ms_two_digits(str, tm->tm_mday);
	*str++ = ' ';
	str = ms_two_digits(str, tm->tm_hour);
	*str++ = ':';
	str = ms_two_digits(str, tm->tm_min);
	*str++ = ':';
	str = ms_two_digits(str, tm->tm_sec);
	if (fsec != 0)
	{
		int32		value = Abs(fsec);
		char	   *end;
		int			i;

		/* 0 < fsec < 1000000 for a timestamp */
		*str++ = '.';
		end = str + 6;
		for (i = 5; i >= 0; i--)
		{
			str[i] = '0' + value % 10;
			value /= 10;
		}
		while (end[-1] == '0')
			end--;
		str = end;
	}
	return str;
}

/*
 * timestamptz_out for a zone with the fixed offset json_tstz_gmtoff and
 * DateStyle ISO: the local time is the UTC time shifted by the offset.
 * Returns the end of the text written at str (at most MAXDATELEN bytes,
 * not NUL-terminated), or NULL when the value is not finite or too close
 * to the ends of the range: the caller uses the output function.
 */
static char *
ms_json_tstz_fast(TimestampTz dt, char *str)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (dt < MIN_TIMESTAMP + USECS_PER_DAY || dt >= END_TIMESTAMP - USECS_PER_DAY)
		return NULL;
	if (timestamp2tm(dt + json_tstz_gmtoff * USECS_PER_SEC, NULL, &tm, &fsec,
					 NULL, NULL) != 0)
		return NULL;
	str = ms_iso_datetime(str, &tm, fsec);
	memcpy(str, json_tstz_suffix, json_tstz_suffixlen);
	str += json_tstz_suffixlen;
	if (tm.tm_year <= 0)
	{
		memcpy(str, " BC", 3);
		str += 3;
	}
	return str;
}

/*
 * numeric_out without the function manager, the detoasted copy and the
 * palloc'd result: the digits are printed straight from the stored value
 * (which may have a short varlena header, hence unaligned: read with
 * memcpy).  This follows the on-disk format of numeric (numeric.c: a
 * uint16 header, short or long, then base-10000 int16 digits) and prints
 * exactly what numeric_out's get_str_from_var prints.
 */
#define MS_NUMERIC_SIGN_MASK	0xC000
#define MS_NUMERIC_NEG			0x4000
#define MS_NUMERIC_SHORT		0x8000
#define MS_NUMERIC_SPECIAL		0xC000
#define MS_NUMERIC_NAN			0xC000
#define MS_NUMERIC_PINF			0xD000
#define MS_NUMERIC_NINF			0xF000
#define MS_NUMERIC_SHORT_SIGN_MASK		0x2000
#define MS_NUMERIC_SHORT_DSCALE_MASK	0x1F80
#define MS_NUMERIC_SHORT_DSCALE_SHIFT	7
#define MS_NUMERIC_SHORT_WEIGHT_SIGN_MASK	0x0040
#define MS_NUMERIC_SHORT_WEIGHT_MASK	0x003F
#define MS_NUMERIC_DSCALE_MASK	0x3FFF
#define MS_DEC_DIGITS			4

static void
ms_json_numeric(StringInfo buf, struct varlena *v)
{
	const char *p = VARDATA_ANY(v);
	int			size = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int			hdrsize;
	int			ndigits;
	int			weight;
	int			dscale;
	bool		neg;
	const char *digits;
	char	   *dst;
	char	   *cp;
	int			d;

	memcpy(&header, p, sizeof(uint16));
	if ((header & MS_NUMERIC_SIGN_MASK) == MS_NUMERIC_SPECIAL)
	{
		if (header == MS_NUMERIC_PINF)
			ms_buf_literal(buf, "\"Infinity\"");
		else if (header == MS_NUMERIC_NINF)
			ms_buf_literal(buf, "\"-Infinity\"");
		else
			ms_buf_literal(buf, "\"NaN\"");
		return;
	}
	if (header & MS_NUMERIC_SHORT)
	{
		hdrsize = sizeof(uint16);
		neg = (header & MS_NUMERIC_SHORT_SIGN_MASK) != 0;
		dscale = (header & MS_NUMERIC_SHORT_DSCALE_MASK) >> MS_NUMERIC_SHORT_DSCALE_SHIFT;
		weight = (header & MS_NUMERIC_SHORT_WEIGHT_MASK);
		if (header & MS_NUMERIC_SHORT_WEIGHT_SIGN_MASK)
			weight |= ~MS_NUMERIC_SHORT_WEIGHT_MASK;
	}
	else
	{
		int16		w;

		hdrsize = sizeof(uint16) + sizeof(int16);
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		neg = (header & MS_NUMERIC_SIGN_MASK) == MS_NUMERIC_NEG;
		dscale = header & MS_NUMERIC_DSCALE_MASK;
		weight = w;
	}
	digits = p + hdrsize;
	ndigits = (size - hdrsize) / sizeof(int16);

	/* quotes, sign, integer part, point, fraction rounded up to a digit */
	ms_buf_reserve(buf, 2 + 1 + (weight >= 0 ? (weight + 1) * MS_DEC_DIGITS : 1) +
				   1 + dscale + MS_DEC_DIGITS);
	dst = cp = buf->data + buf->len;
	*cp++ = '"';
	if (neg)
		*cp++ = '-';

	/* the integer part: leading zeroes of the first digit suppressed */
	if (weight < 0)
	{
		d = weight + 1;
		*cp++ = '0';
	}
	else
	{
		for (d = 0; d <= weight; d++)
		{
			int16		dig = 0;
			int			d1;
			bool		putit = (d > 0);

			if (d < ndigits)
				memcpy(&dig, digits + d * sizeof(int16), sizeof(int16));
			d1 = dig / 1000;
			dig -= d1 * 1000;
			putit |= (d1 > 0);
			if (putit)
				*cp++ = d1 + '0';
			d1 = dig / 100;
			dig -= d1 * 100;
			putit |= (d1 > 0);
			if (putit)
				*cp++ = d1 + '0';
			d1 = dig / 10;
			dig -= d1 * 10;
			putit |= (d1 > 0);
			if (putit)
				*cp++ = d1 + '0';
			*cp++ = dig + '0';
		}
	}

	/* the fraction: dscale digits, written four at a time */
	if (dscale > 0)
	{
		char	   *endcp;
		int			i;

		*cp++ = '.';
		endcp = cp + dscale;
		for (i = 0; i < dscale; d++, i += MS_DEC_DIGITS)
		{
			int16		dig = 0;
			int			d1;

			if (d >= 0 && d < ndigits)
				memcpy(&dig, digits + d * sizeof(int16), sizeof(int16));
			d1 = dig / 1000;
			dig -= d1 * 1000;
			*cp++ = d1 + '0';
			d1 = dig / 100;
			dig -= d1 * 100;
			*cp++ = d1 + '0';
			d1 = dig / 10;
			dig -= d1 * 10;
			*cp++ = d1 + '0';
			*cp++ = dig + '0';
		}
		cp = endcp;
	}
	*cp++ = '"';
	buf->len += cp - dst;
}

/* Append a NUL-terminated ASCII string (no escaping needed) as a JSON string. */
static inline void
ms_json_ascii(StringInfo buf, const char *s)
{
	int			n = strlen(s);
	char	   *dst;

	ms_buf_reserve(buf, n + 2);
	dst = buf->data + buf->len;
	dst[0] = '"';
	memcpy(dst + 1, s, n);
	dst[n + 1] = '"';
	buf->len += n + 2;
}

/*
 * Append one non-null column value as a JSON string holding its text
 * output.  The value must not be an unchanged (on-disk) TOAST pointer.
 */
void
ms_json_value(StringInfo buf, Datum value, MsOutKind kind, FmgrInfo *outfunc)
{
	char	   *dst;
	int			n;

	switch (kind)
	{
		case MS_OUT_INT2:
		case MS_OUT_INT4:
			ms_buf_reserve(buf, 12 + 2);	/* "-2147483648" */
			dst = buf->data + buf->len;
			dst[0] = '"';
			n = pg_ltoa(kind == MS_OUT_INT2 ? (int32) DatumGetInt16(value) :
						DatumGetInt32(value), dst + 1);
			dst[n + 1] = '"';
			buf->len += n + 2;
			return;
		case MS_OUT_INT8:
			ms_buf_reserve(buf, MAXINT8LEN + 2);
			dst = buf->data + buf->len;
			dst[0] = '"';
			n = pg_lltoa(DatumGetInt64(value), dst + 1);
			dst[n + 1] = '"';
			buf->len += n + 2;
			return;
		case MS_OUT_BOOL:
			if (DatumGetBool(value))
				ms_buf_literal(buf, "\"t\"");
			else
				ms_buf_literal(buf, "\"f\"");
			return;
		case MS_OUT_TEXTLIKE:
			{
				struct varlena *v = (struct varlena *) DatumGetPointer(value);

				if (VARATT_IS_EXTENDED(v))
					v = pg_detoast_datum_packed(v);
				ms_json_string(buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			}
			return;
		case MS_OUT_NUMERIC:
			{
				struct varlena *v = (struct varlena *) DatumGetPointer(value);

				if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
					v = pg_detoast_datum_packed(v);
				ms_json_numeric(buf, v);
			}
			return;
		case MS_OUT_TIMESTAMP:
			{
				Timestamp	ts = DatumGetTimestamp(value);
				struct pg_tm tm;
				fsec_t		fsec;
				char		tmp[MAXDATELEN + 1];

				/* timestamp_out, without the function call and pstrdup */
				if (TIMESTAMP_NOT_FINITE(ts) ||
					timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
					break;		/* the output function prints or complains */
				if (DateStyle != USE_ISO_DATES)
				{
					EncodeDateTime(&tm, fsec, false, 0, NULL, DateStyle, tmp);
					ms_json_ascii(buf, tmp);
					return;
				}
				ms_buf_reserve(buf, MAXDATELEN + 2);
				dst = buf->data + buf->len;
				*dst++ = '"';
				dst = ms_iso_datetime(dst, &tm, fsec);
				if (tm.tm_year <= 0)
				{
					memcpy(dst, " BC", 3);
					dst += 3;
				}
				*dst++ = '"';
				buf->len = dst - buf->data;
			}
			return;
		case MS_OUT_TIMESTAMPTZ:
			/* a configuration reload may have changed the settings since */
			if (json_tstz_fixed && session_timezone == json_tstz_zone &&
				DateStyle == USE_ISO_DATES)
			{
				char	   *end;

				ms_buf_reserve(buf, MAXDATELEN + 2);
				dst = buf->data + buf->len;
				end = ms_json_tstz_fast(DatumGetTimestampTz(value), dst + 1);
				if (end != NULL)
				{
					*dst = '"';
					*end++ = '"';
					buf->len = end - buf->data;
					return;
				}
			}
			break;
		default:
			break;
	}
	ms_json_cstring(buf, OutputFunctionCall(outfunc, value));
}
