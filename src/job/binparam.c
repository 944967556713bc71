/*-------------------------------------------------------------------------
 *
 * binparam.c
 *		Values of a few built-in types in the protocol's binary format, for
 *		the apply's statement parameters.
 *
 * The plugin sends every column value as the text its type's output
 * function writes under the settings the job pins on the source session
 * (conn.c: DateStyle ISO, TimeZone UTC).  Sent as text, each value is
 * parsed again on the target by the type's input function, and a run's
 * array parameter by array_in first: for a row of (bigint, int, text,
 * timestamptz), timestamptz_in alone took about a tenth of the target's
 * CPU in bench/job_apply.sh.  For the types below the job writes the
 * value's binary form itself (what the type's send function writes, which
 * its receive function reads), so that the target only copies bytes.
 *
 * Rules a caller must keep:
 *	- Only text in exactly the form the output function writes under the
 *	  pinned settings is converted: "-0", "+1", "007", "infinity", a year
 *	  before 1 AD or after 9999, a time zone other than "+00" are refused
 *	  (false), and the caller sends that value, or that whole array, as
 *	  text, as before.  So a value the job converts is one whose text the
 *	  input function would have read to the same value, and any other value
 *	  is read by the input function as before.
 *	- A binary value is read by the receive function of the parameter's
 *	  type, so a caller sends one only for a parameter whose type it
 *	  declared: binparam_typoid(kind) for a scalar, an array type whose
 *	  element type is that OID for an array.  Built-in type OIDs are the
 *	  same in every database; BinKind is only ever chosen from them.
 *	- text and varchar are sent as their bytes: the receive function
 *	  converts them from the client encoding as the input function's caller
 *	  does for text.
 *
 * Nothing here allocates except through the PQExpBuffer the caller gives.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "binparam.h"

/* built-in type OIDs (pg_type.dat), the same in every database */
#define BIN_BOOLOID			16
#define BIN_INT8OID			20
#define BIN_INT2OID			21
#define BIN_INT4OID			23
#define BIN_TEXTOID			25
#define BIN_VARCHAROID		1043
#define BIN_DATEOID			1082
#define BIN_TIMESTAMPOID	1114
#define BIN_TIMESTAMPTZOID	1184

/* days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch for dates */
#define BIN_EPOCH_SHIFT_DAYS	10957
#define BIN_USECS_PER_SEC		INT64CONST(1000000)

/* The kind of a type OID whose values may go in binary, or BIN_NONE. */
BinKind
binparam_kind(unsigned int typoid)
{
	switch (typoid)
	{
		case BIN_BOOLOID:
			return BIN_BOOL;
		case BIN_INT2OID:
			return BIN_INT2;
		case BIN_INT4OID:
			return BIN_INT4;
		case BIN_INT8OID:
			return BIN_INT8;
		case BIN_DATEOID:
			return BIN_DATE;
		case BIN_TIMESTAMPOID:
			return BIN_TIMESTAMP;
		case BIN_TIMESTAMPTZOID:
			return BIN_TIMESTAMPTZ;
		case BIN_TEXTOID:
			return BIN_TEXT;
		case BIN_VARCHAROID:
			return BIN_VARCHAR;
		default:
			return BIN_NONE;
	}
}

/* The type OID a parameter of this kind is declared with. */
unsigned int
binparam_typoid(BinKind kind)
{
	switch (kind)
	{
		case BIN_BOOL:
			return BIN_BOOLOID;
		case BIN_INT2:
			return BIN_INT2OID;
		case BIN_INT4:
			return BIN_INT4OID;
		case BIN_INT8:
			return BIN_INT8OID;
		case BIN_DATE:
			return BIN_DATEOID;
		case BIN_TIMESTAMP:
			return BIN_TIMESTAMPOID;
		case BIN_TIMESTAMPTZ:
			return BIN_TIMESTAMPTZOID;
		case BIN_TEXT:
			return BIN_TEXTOID;
		case BIN_VARCHAR:
			return BIN_VARCHAROID;
		case BIN_NONE:
			break;
	}
	return 0;
}

/* Append the low nbytes of v, most significant byte first. */
static void
append_be(PQExpBuffer buf, uint64 v, int nbytes)
{
	char		b[8];
	int			i;

	for (i = nbytes - 1; i >= 0; i--)
	{
		b[i] = (char) (v & 0xFF);
		v >>= 8;
	}
	appendBinaryPQExpBuffer(buf, b, nbytes);
}

/*
 * An integer as int8out/int4out/int2out write it ("0", or an optional
 * minus and digits without a leading zero), within [min, max].
 */
static bool
parse_int(const char *s, int64 min, int64 max, int64 *result)
{
	bool		neg = false;
	uint64		v = 0;
	int			ndigits = 0;

	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (*s == '0')
	{
		if (neg || s[1] != '\0')
			return false;
		*result = 0;
		return true;
	}
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9' || ++ndigits > 19)
			return false;
		v = v * 10 + (uint64) (*s - '0');
	}
	if (ndigits == 0)
		return false;
	/* 19 digits fit in a uint64; the bounds are within int64 */
	if (neg)
	{
		if (v > (uint64) PG_INT64_MAX + 1 || -(int64) (v - 1) - 1 < min)
			return false;
		*result = -(int64) (v - 1) - 1;
	}
	else
	{
		if (v > (uint64) max)
			return false;
		*result = (int64) v;
	}
	return true;
}

/* n decimal digits at s, as a number; false unless all are digits */
static bool
fixed_digits(const char *s, int n, int *result)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*result = v;
	return true;
}

/*
 * Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (the
 * one PostgreSQL's dates follow), counting eras of 400 years from March 1
 * so that February's leap day falls at the end of each year.
 */
static int64
days_from_civil(int y, int m, int d)
{
	int64		era;
	int			yoe;
	int			doy;
	int			doe;

	y -= (m <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int) (y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * "YYYY-MM-DD" of a year 1 to 9999 AD at *s (what EncodeDateOnly writes in
 * DateStyle ISO; other years are written with more digits or " BC"): days
 * since 2000-01-01.  Advances *s past it.
 */
static bool
parse_date(const char **s, int64 *days)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = *s;
	int			y,
				m,
				d;

	if (!fixed_digits(p, 4, &y) || p[4] != '-' || !fixed_digits(p + 5, 2, &m) ||
		p[7] != '-' || !fixed_digits(p + 8, 2, &d))
		return false;
	if (y < 1 || m < 1 || m > 12 || d < 1 ||
		d > mdays[m - 1] + (m == 2 && is_leap(y)))
		return false;
	*days = days_from_civil(y, m, d) - BIN_EPOCH_SHIFT_DAYS;
	*s = p + 10;
	return true;
}

/*
 * "YYYY-MM-DD HH:MM:SS" and an optional fraction of up to six digits (what
 * EncodeDateTime writes in DateStyle ISO before the zone): microseconds
 * since 2000-01-01 00:00:00.  Advances *s past it.
 */
static bool
parse_timestamp(const char **s, int64 *usecs)
{
	const char *p = *s;
	int64		days;
	int			h,
				mi,
				sec,
				frac = 0;
	int			i;

	if (!parse_date(&p, &days))
		return false;
	if (p[0] != ' ' || !fixed_digits(p + 1, 2, &h) || p[3] != ':' ||
		!fixed_digits(p + 4, 2, &mi) || p[6] != ':' || !fixed_digits(p + 7, 2, &sec))
		return false;
	if (h > 23 || mi > 59 || sec > 59)
		return false;
	p += 9;
	if (*p == '.')
	{
		p++;
		for (i = 0; i < 6 && *p >= '0' && *p <= '9'; i++, p++)
			frac = frac * 10 + (*p - '0');
		if (i == 0 || (*p >= '0' && *p <= '9'))
			return false;
		for (; i < 6; i++)
			frac *= 10;
	}
	*usecs = ((days * 24 + h) * 60 + mi) * 60 * BIN_USECS_PER_SEC +
		sec * BIN_USECS_PER_SEC + frac;
	*s = p;
	return true;
}

/*
 * Append the binary form of text, a value of kind, to buf; false (buf
 * unchanged) when the text is not in the form the type's output function
 * writes under the job's settings (see the file header).
 */
bool
binparam_append(PQExpBuffer buf, BinKind kind, const char *text)
{
	int64		v;
	const char *p = text;

	switch (kind)
	{
		case BIN_BOOL:
			if ((text[0] != 't' && text[0] != 'f') || text[1] != '\0')
				return false;
			appendPQExpBufferChar(buf, text[0] == 't' ? 1 : 0);
			return true;
		case BIN_INT2:
		case BIN_INT4:
		case BIN_INT8:
			{
				int			nbytes = kind == BIN_INT2 ? 2 : kind == BIN_INT4 ? 4 : 8;
				int64		max = (int64) (((uint64) 1 << (8 * nbytes - 1)) - 1);

				if (!parse_int(text, -max - 1, max, &v))
					return false;
				append_be(buf, (uint64) v, nbytes);
				return true;
			}
		case BIN_DATE:
			if (!parse_date(&p, &v) || *p != '\0')
				return false;
			append_be(buf, (uint64) v, 4);
			return true;
		case BIN_TIMESTAMP:
		case BIN_TIMESTAMPTZ:
			/* TimeZone UTC: every timestamptz is written with "+00" */
			if (!parse_timestamp(&p, &v) ||
				strcmp(p, kind == BIN_TIMESTAMPTZ ? "+00" : "") != 0)
				return false;
			append_be(buf, (uint64) v, 8);
			return true;
		case BIN_TEXT:
		case BIN_VARCHAR:
			appendBinaryPQExpBuffer(buf, text, strlen(text));
			return true;
		case BIN_NONE:
			break;
	}
	return false;
}

/*
 * Append to buf a one-dimensional array of n values of kind in binary
 * (array_send's format: dimensions, flags, element type, then each element
 * with its length, -1 for NULL), the i-th value at vals[i * stride]; false
 * (buf unchanged) when a value cannot be converted: the caller sends the
 * array as text.
 */
bool
binparam_array(PQExpBuffer buf, BinKind kind, const char *const *vals, int n,
			   int stride)
{
	size_t		start = buf->len;
	bool		nulls = false;
	int			i;

	for (i = 0; i < n && !nulls; i++)
		nulls = (vals[i * stride] == NULL);
	append_be(buf, 1, 4);		/* dimensions */
	append_be(buf, nulls ? 1 : 0, 4);
	append_be(buf, binparam_typoid(kind), 4);
	append_be(buf, (uint64) n, 4);
	append_be(buf, 1, 4);		/* lower bound */
	for (i = 0; i < n; i++)
	{
		const char *v = vals[i * stride];
		size_t		lenpos = buf->len;
		uint64		len;

		if (v == NULL)
		{
			append_be(buf, (uint64) (uint32) -1, 4);
			continue;
		}
		append_be(buf, 0, 4);	/* the length, set below */
		if (!binparam_append(buf, kind, v))
		{
			buf->len = start;
			buf->data[start] = '\0';
			return false;
		}
		len = buf->len - lenpos - 4;
		buf->data[lenpos] = (char) (len >> 24);
		buf->data[lenpos + 1] = (char) (len >> 16);
		buf->data[lenpos + 2] = (char) (len >> 8);
		buf->data[lenpos + 3] = (char) len;
	}
	return true;
}
