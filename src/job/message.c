/*-------------------------------------------------------------------------
 *
 * message.c
 *		Parse one JSON message of the migration_split output plugin.
 *
 * A small recursive-descent JSON reader (RFC 8259) calls semantic
 * callbacks that fill a Message.  The format is the contract described in
 * the README (section "decoder"), with the names of src/protocol.h: one
 * object per message, column values as JSON strings (the type's text
 * output) or null.  Unknown fields are ignored so that the plugin can add
 * fields without breaking older jobs.
 *
 * Why not libpgcommon's JSON parser (common/jsonapi.h), which 1.0 used:
 * PostgreSQL 15's lexer appends every character of every string to a
 * StringInfo one call at a time and copies every field name, and parsing
 * was two thirds of the job's instructions in a catch-up.  This reader
 * copies a string without escapes with one memcpy() into an allocation of
 * its exact size, and reads field names into the ParseState without
 * allocating.  It accepts what that parser accepts (with the database
 * encoding UTF-8): a \u escape becomes UTF-8, a surrogate pair one code
 * point, and \u0000, a lone surrogate, an unescaped control character, a
 * bad number or literal, trailing text and nesting deeper than
 * JSON_MAX_DEPTH are errors.  Bytes of 0x80 and above are copied as they
 * are (the plugin writes UTF-8).
 *
 * Memory: every string in a Message is allocated here and released by
 * message_free().
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "mb/pg_wchar.h"

#include "job.h"

typedef struct ParseState
{
	Message    *msg;
	int			obj_depth;
	int			arr_depth;
	char		field[32];		/* current field of the top-level object */
	char		subfield[32];	/* current field of a nested object */
	char		subsubfield[32];	/* field of an object nested in that */
	int			cap_new;
	int			cap_key;
	int			cap_unchanged;
	int			cap_keycols;
	int			cap_columns;
	int			cap_relations;
	char	   *error;
} ParseState;

#define GROW(arr, n, cap, type) \
	do { \
		if ((n) >= (cap)) \
		{ \
			(cap) = (cap) ? (cap) * 2 : 16; \
			(arr) = pg_realloc((arr), sizeof(type) * (cap)); \
		} \
	} while (0)

static void
ps_object_start(ParseState *ps)
{
	Message    *m = ps->msg;

	ps->obj_depth++;
	if (ps->obj_depth == 2 && ps->arr_depth == 1)
	{
		if (strcmp(ps->field, "columns") == 0)
		{
			GROW(m->columns, m->ncolumns, ps->cap_columns, MsgColumn);
			memset(&m->columns[m->ncolumns], 0, sizeof(MsgColumn));
			m->ncolumns++;
		}
		else if (strcmp(ps->field, "relations") == 0)
		{
			GROW(m->trunc_relids, m->nrelations, ps->cap_relations, unsigned int);
			m->trunc_schemas = pg_realloc(m->trunc_schemas, sizeof(char *) * ps->cap_relations);
			m->trunc_tables = pg_realloc(m->trunc_tables, sizeof(char *) * ps->cap_relations);
			m->trunc_part_schemas = pg_realloc(m->trunc_part_schemas, sizeof(char *) * ps->cap_relations);
			m->trunc_part_tables = pg_realloc(m->trunc_part_tables, sizeof(char *) * ps->cap_relations);
			m->trunc_relids[m->nrelations] = 0;
			m->trunc_schemas[m->nrelations] = NULL;
			m->trunc_tables[m->nrelations] = NULL;
			m->trunc_part_schemas[m->nrelations] = NULL;
			m->trunc_part_tables[m->nrelations] = NULL;
			m->nrelations++;
		}
	}
}

static void
ps_object_end(ParseState *ps)
{
	ps->obj_depth--;
}

static void
ps_array_start(ParseState *ps)
{
	ps->arr_depth++;
	if (ps->obj_depth == 1 && ps->arr_depth == 1)
	{
		/* an empty "key" array is a key, not a JSON null */
		if (strcmp(ps->field, "key") == 0 && ps->msg->keyvals == NULL)
		{
			ps->cap_key = 16;
			ps->msg->keyvals = pg_malloc(sizeof(char *) * ps->cap_key);
		}
		else if (strcmp(ps->field, "new") == 0 && ps->msg->newvals == NULL)
		{
			ps->cap_new = 16;
			ps->msg->newvals = pg_malloc(sizeof(char *) * ps->cap_new);
		}
	}
}

static void
ps_array_end(ParseState *ps)
{
	ps->arr_depth--;
}

/* The buffer that the name of a field at the current depth goes into. */
static char *
ps_field_buffer(ParseState *ps)
{
	if (ps->obj_depth == 1)
		return ps->field;
	else if (ps->obj_depth == 2)
		return ps->subfield;
	return ps->subsubfield;
}

/* The kinds of scalar the reader passes to ps_scalar(). */
typedef enum JsonScalar
{
	JSON_SCALAR_STRING,
	JSON_SCALAR_NUMBER,
	JSON_SCALAR_TRUE,
	JSON_SCALAR_FALSE,
	JSON_SCALAR_NULL
} JsonScalar;

static bool
token_bool(const char *token, JsonScalar type)
{
	return type == JSON_SCALAR_TRUE;
}

/*
 * One scalar: token (allocated, its text: a string de-escaped, a number or
 * literal as written) is kept by the Message or freed here.
 */
static void
ps_scalar(ParseState *ps, char *token, JsonScalar type)
{
	Message    *m = ps->msg;
	bool		isnull = (type == JSON_SCALAR_NULL);
	const char *f = ps->field;
	bool		keep = false;

	if (ps->obj_depth == 1 && ps->arr_depth == 0)
	{
		/* the fields of every change and commit first: one strcmp() each */
		if (strcmp(f, "action") == 0)
			m->action = (MsgAction) token[0];
		else if (strcmp(f, "relid") == 0)
			m->relid = (unsigned int) strtoul(token, NULL, 10);
		else if (strcmp(f, MS_FLD_XID) == 0)
			m->xid = strtoull(token, NULL, 10);
		else if (strcmp(f, "commit_lsn") == 0 && !isnull)
			m->commit_lsn = token, keep = true;
		else if (strcmp(f, "end_lsn") == 0 && !isnull)
			m->end_lsn = token, keep = true;
		else if (strcmp(f, "commit_time") == 0 && !isnull)
			m->commit_time = token, keep = true;
		else if (strcmp(f, MS_FLD_SUBXID) == 0)
			m->subxid = strtoull(token, NULL, 10);
		else if (strcmp(f, MS_FLD_IN_DOMAIN) == 0)
			m->in_domain = token_bool(token, type);
		else if (strcmp(f, MS_FLD_DOMAIN) == 0 && !isnull)
			m->domain = token, keep = true;
		else if (strcmp(f, MS_FLD_ROOT_SCHEMA) == 0 && !isnull)
			m->root_schema = token, keep = true;
		else if (strcmp(f, MS_FLD_ROOT_TABLE) == 0 && !isnull)
			m->root_table = token, keep = true;
		else if (strcmp(f, "schema") == 0 && !isnull)
			m->schema = token, keep = true;
		else if (strcmp(f, "table") == 0 && !isnull)
			m->table = token, keep = true;
		else if (strcmp(f, "replica_identity") == 0 && !isnull)
			m->replica_identity = token[0];
		else if (strcmp(f, "key") == 0 && isnull)
			m->key_null = true;
		else if (strcmp(f, "cascade") == 0)
			m->cascade = token_bool(token, type);
		else if (strcmp(f, "restart_identity") == 0)
			m->restart_identity = token_bool(token, type);
		else if (strcmp(f, "transactional") == 0)
			m->transactional = token_bool(token, type);
		else if (strcmp(f, "streamed") == 0)
			m->streamed = token_bool(token, type);

		else if (strcmp(f, "prefix") == 0 && !isnull)
			m->prefix = token, keep = true;
		else if (strcmp(f, "content") == 0 && !isnull)
			m->content = token, keep = true;
	}
	else if (ps->obj_depth == 1 && ps->arr_depth == 1)
	{
		if (strcmp(f, "new") == 0)
		{
			GROW(m->newvals, m->nnew, ps->cap_new, char *);
			m->newvals[m->nnew++] = isnull ? NULL : token;
			keep = !isnull;
		}
		else if (strcmp(f, "key") == 0)
		{
			GROW(m->keyvals, m->nkey, ps->cap_key, char *);
			m->keyvals[m->nkey++] = isnull ? NULL : token;
			keep = !isnull;
		}
		else if (strcmp(f, "unchanged") == 0)
		{
			GROW(m->unchanged, m->nunchanged, ps->cap_unchanged, int);
			m->unchanged[m->nunchanged++] = atoi(token);
		}
		else if (strcmp(f, MS_FLD_KEY_COLUMNS) == 0)
		{
			GROW(m->keycols, m->nkeycols, ps->cap_keycols, int);
			m->keycols[m->nkeycols++] = atoi(token);
		}
		else if (strcmp(f, MS_FLD_REWRITTEN) == 0 && !isnull)
		{
			int			i;

			/* the plugin writes this list after "columns" */
			for (i = 0; i < m->ncolumns; i++)
				if (m->columns[i].name && strcmp(m->columns[i].name, token) == 0)
					m->columns[i].rewritten = true;
		}
	}
	else if (ps->obj_depth == 2 && ps->arr_depth == 1)
	{
		const char *sf = ps->subfield;

		if (strcmp(f, "columns") == 0 && m->ncolumns > 0)
		{
			MsgColumn  *c = &m->columns[m->ncolumns - 1];

			if (strcmp(sf, "name") == 0 && !isnull)
				c->name = token, keep = true;
			else if (strcmp(sf, "type") == 0 && !isnull)
				c->type = token, keep = true;
			else if (strcmp(sf, "typoid") == 0)
				c->typoid = (unsigned int) strtoul(token, NULL, 10);
			else if (strcmp(sf, "key") == 0)
				c->key = token_bool(token, type);
			else if (strcmp(sf, MS_FLD_MISSING) == 0 && !isnull)
				c->missing = token, keep = true;
			else if (strcmp(sf, MS_FLD_ATTNUM) == 0 && !isnull)
				c->attnum = atoi(token);
		}
		else if (strcmp(f, "relations") == 0 && m->nrelations > 0)
		{
			int			i = m->nrelations - 1;

			if (strcmp(sf, "relid") == 0)
				m->trunc_relids[i] = (unsigned int) strtoul(token, NULL, 10);
			else if (strcmp(sf, "schema") == 0 && !isnull)
				m->trunc_schemas[i] = token, keep = true;
			else if (strcmp(sf, "table") == 0 && !isnull)
				m->trunc_tables[i] = token, keep = true;
		}
	}
	else if (ps->obj_depth == 3 && ps->arr_depth == 1 &&
			 strcmp(f, "relations") == 0 && strcmp(ps->subfield, "partition") == 0 &&
			 m->nrelations > 0 && !isnull)
	{
		/* the partition a TRUNCATE named, when not the root itself */
		int			i = m->nrelations - 1;

		if (strcmp(ps->subsubfield, "schema") == 0 && m->trunc_part_schemas[i] == NULL)
			m->trunc_part_schemas[i] = token, keep = true;
		else if (strcmp(ps->subsubfield, "table") == 0 && m->trunc_part_tables[i] == NULL)
			m->trunc_part_tables[i] = token, keep = true;
	}
	if (!keep)
		pfree(token);
}

/*
 * The JSON reader: position, end and nesting depth of one message, and the
 * first error (a static description) with where it was found.
 */
typedef struct JsonReader
{
	const char *start;
	const char *p;
	const char *end;
	int			depth;
	const char *error;
	const char *error_at;
} JsonReader;

/* Deeper than any message; a limit keeps the recursion's stack bounded. */
#define JSON_MAX_DEPTH 100

static bool jr_value(JsonReader *jr, ParseState *ps);

static bool
jr_fail(JsonReader *jr, const char *error)
{
	if (jr->error == NULL)
	{
		jr->error = error;
		jr->error_at = jr->p;
	}
	return false;
}

static void
jr_skip_ws(JsonReader *jr)
{
	while (jr->p < jr->end &&
		   (*jr->p == ' ' || *jr->p == '\t' || *jr->p == '\n' || *jr->p == '\r'))
		jr->p++;
}

static int
jr_hex4(const char *p)
{
	int			v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * De-escape the body of a string, raw[0..len) (between its quotes, already
 * checked to hold no quote or control character unescaped), into dst,
 * which has room for len bytes: no escape is shorter than what it stands
 * for in UTF-8.  Returns the length written, or -1 with the error set.
 */
static int
jr_unescape(JsonReader *jr, const char *raw, int len, char *dst)
{
	const char *p = raw;
	const char *end = raw + len;
	char	   *d = dst;

	while (p < end)
	{
		const char *esc;
		int			cp;

		if (*p != '\\')
		{
			*d++ = *p++;
			continue;
		}
		esc = p;
		p++;
		switch (*p++)
		{
			case '"':
				*d++ = '"';
				break;
			case '\\':
				*d++ = '\\';
				break;
			case '/':
				*d++ = '/';
				break;
			case 'b':
				*d++ = '\b';
				break;
			case 'f':
				*d++ = '\f';
				break;
			case 'n':
				*d++ = '\n';
				break;
			case 'r':
				*d++ = '\r';
				break;
			case 't':
				*d++ = '\t';
				break;
			case 'u':
				cp = end - p >= 4 ? jr_hex4(p) : -1;
				if (cp < 0)
				{
					jr->p = esc;
					jr_fail(jr, "\\u must be followed by four hexadecimal digits");
					return -1;
				}
				p += 4;
				if (cp >= 0xD800 && cp <= 0xDBFF)
				{
					int			lo = (end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? jr_hex4(p + 2) : -1;

					if (lo < 0xDC00 || lo > 0xDFFF)
					{
						jr->p = esc;
						jr_fail(jr, "a high surrogate must be followed by a low surrogate");
						return -1;
					}
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
				else if (cp >= 0xDC00 && cp <= 0xDFFF)
				{
					jr->p = esc;
					jr_fail(jr, "a low surrogate must follow a high surrogate");
					return -1;
				}
				else if (cp == 0)
				{
					jr->p = esc;
					jr_fail(jr, "\\u0000 cannot be converted to text");
					return -1;
				}
				unicode_to_utf8((pg_wchar) cp, (unsigned char *) d);
				d += pg_utf_mblen((unsigned char *) d);
				break;
			default:
				jr->p = esc;
				jr_fail(jr, "invalid escape");
				return -1;
		}
	}
	return d - dst;
}

/*
 * Read a string at jr->p (its opening quote).  With out, its text is
 * returned in an allocation of its own; otherwise it goes into
 * name[0..namesize), cut short if longer (a field name: no field of the
 * format is that long).
 */
static bool
jr_string(JsonReader *jr, char **out, char *name, size_t namesize)
{
	const char *body = ++jr->p;
	const char *p = body;
	bool		escaped = false;
	int			rawlen;
	char	   *dst;
	int			len;

	/* find the closing quote; the common case has nothing to unescape */
	for (;;)
	{
		unsigned char c;

		if (p >= jr->end)
		{
			jr->p = p;
			return jr_fail(jr, "unterminated string");
		}
		c = (unsigned char) *p;
		if (c == '"')
			break;
		if (c < 0x20)
		{
			jr->p = p;
			return jr_fail(jr, "unescaped control character in a string");
		}
		if (c == '\\')
		{
			escaped = true;
			if (++p >= jr->end)
				continue;
		}
		p++;
	}
	rawlen = p - body;
	jr->p = p + 1;

	if (out != NULL)
	{
		dst = pg_malloc(rawlen + 1);
		if (!escaped)
		{
			len = rawlen;
			memcpy(dst, body, rawlen);
		}
		else if ((len = jr_unescape(jr, body, rawlen, dst)) < 0)
		{
			pg_free(dst);
			return false;
		}
		dst[len] = '\0';
		*out = dst;
		return true;
	}

	if (!escaped)
	{
		len = Min((size_t) rawlen, namesize - 1);
		memcpy(name, body, len);
	}
	else
	{
		dst = pg_malloc(rawlen + 1);
		if ((len = jr_unescape(jr, body, rawlen, dst)) < 0)
		{
			pg_free(dst);
			return false;
		}
		len = Min((size_t) len, namesize - 1);
		memcpy(name, dst, len);
		pg_free(dst);
	}
	name[len] = '\0';
	return true;
}

/* Read a number at jr->p, as RFC 8259 writes one, into an allocation. */
static bool
jr_number(JsonReader *jr, char **out)
{
	const char *p = jr->p;
	const char *e = jr->end;
	char	   *dst;

	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && *p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return jr_fail(jr, "invalid number");
	if (p < e && *p == '.')
	{
		if (++p >= e || *p < '0' || *p > '9')
			return jr_fail(jr, "invalid number");
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E'))
	{
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9')
			return jr_fail(jr, "invalid number");
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (isalnum((unsigned char) *p) || *p == '_'))
		return jr_fail(jr, "invalid number");
	dst = pg_malloc(p - jr->p + 1);
	memcpy(dst, jr->p, p - jr->p);
	dst[p - jr->p] = '\0';
	jr->p = p;
	*out = dst;
	return true;
}

/* Read the literal word at jr->p, which must be followed by a delimiter. */
static bool
jr_literal(JsonReader *jr, const char *word, JsonScalar type, ParseState *ps)
{
	size_t		len = strlen(word);

	if ((size_t) (jr->end - jr->p) < len || memcmp(jr->p, word, len) != 0 ||
		(jr->p + len < jr->end &&
		 (isalnum((unsigned char) jr->p[len]) || jr->p[len] == '_')))
		return jr_fail(jr, "invalid token");
	jr->p += len;
	ps_scalar(ps, pg_strdup(word), type);
	return true;
}

/* After white space, consume c if it comes next. */
static bool
jr_accept(JsonReader *jr, char c)
{
	jr_skip_ws(jr);
	if (jr->p < jr->end && *jr->p == c)
	{
		jr->p++;
		return true;
	}
	return false;
}

/* Read an object at jr->p (its opening brace). */
static bool
jr_object(JsonReader *jr, ParseState *ps)
{
	jr->p++;
	ps_object_start(ps);
	if (!jr_accept(jr, '}'))
	{
		do
		{
			jr_skip_ws(jr);
			if (jr->p >= jr->end || *jr->p != '"')
				return jr_fail(jr, "expected a field name");
			if (!jr_string(jr, NULL, ps_field_buffer(ps), sizeof(ps->field)))
				return false;
			if (!jr_accept(jr, ':'))
				return jr_fail(jr, "expected \":\"");
			if (!jr_value(jr, ps))
				return false;
		} while (jr_accept(jr, ','));
		if (!jr_accept(jr, '}'))
			return jr_fail(jr, "expected \",\" or \"}\"");
	}
	ps_object_end(ps);
	return true;
}

/* Read an array at jr->p (its opening bracket). */
static bool
jr_array(JsonReader *jr, ParseState *ps)
{
	jr->p++;
	ps_array_start(ps);
	if (!jr_accept(jr, ']'))
	{
		do
		{
			if (!jr_value(jr, ps))
				return false;
		} while (jr_accept(jr, ','));
		if (!jr_accept(jr, ']'))
			return jr_fail(jr, "expected \",\" or \"]\"");
	}
	ps_array_end(ps);
	return true;
}

/* Read any value at jr->p (after white space). */
static bool
jr_value(JsonReader *jr, ParseState *ps)
{
	char	   *token;
	bool		ok;

	jr_skip_ws(jr);
	if (jr->p >= jr->end)
		return jr_fail(jr, "unexpected end of message");
	switch (*jr->p)
	{
		case '{':
		case '[':
			if (++jr->depth > JSON_MAX_DEPTH)
				return jr_fail(jr, "nested too deeply");
			ok = (*jr->p == '{') ? jr_object(jr, ps) : jr_array(jr, ps);
			jr->depth--;
			return ok;
		case '"':
			if (!jr_string(jr, &token, NULL, 0))
				return false;
			ps_scalar(ps, token, JSON_SCALAR_STRING);
			return true;
		case 't':
			return jr_literal(jr, "true", JSON_SCALAR_TRUE, ps);
		case 'f':
			return jr_literal(jr, "false", JSON_SCALAR_FALSE, ps);
		case 'n':
			return jr_literal(jr, "null", JSON_SCALAR_NULL, ps);
		default:
			if (!jr_number(jr, &token))
				return false;
			ps_scalar(ps, token, JSON_SCALAR_NUMBER);
			return true;
	}
}

/*
 * Parse "data" (not necessarily NUL-terminated) into *msg.  On failure
 * returns false with *errmsg set.
 */
bool
message_parse(const char *data, int len, Message *msg, char **errmsg)
{
	JsonReader	jr;
	ParseState	ps;

	memset(msg, 0, sizeof(*msg));
	msg->action = MSG_OTHER;
	memset(&ps, 0, sizeof(ps));
	ps.msg = msg;

	memset(&jr, 0, sizeof(jr));
	jr.start = jr.p = data;
	jr.end = data + len;
	if (jr_value(&jr, &ps))
	{
		jr_skip_ws(&jr);
		if (jr.p == jr.end)
			return true;
		jr_fail(&jr, "text after the end of the message");
	}
	*errmsg = psprintf("invalid message from the output plugin: %s at byte %d",
					   jr.error, (int) (jr.error_at - jr.start));
	message_free(msg);
	return false;
}

void
message_free(Message *m)
{
	int			i;

	pg_free(m->commit_lsn);
	pg_free(m->end_lsn);
	pg_free(m->commit_time);
	pg_free(m->schema);
	pg_free(m->table);
	pg_free(m->prefix);
	pg_free(m->content);
	for (i = 0; i < m->ncolumns; i++)
	{
		pg_free(m->columns[i].name);
		pg_free(m->columns[i].type);
		pg_free(m->columns[i].missing);
	}
	pg_free(m->columns);
	for (i = 0; i < m->nnew; i++)
		pg_free(m->newvals[i]);
	pg_free(m->newvals);
	for (i = 0; i < m->nkey; i++)
		pg_free(m->keyvals[i]);
	pg_free(m->keyvals);
	pg_free(m->unchanged);
	pg_free(m->domain);
	pg_free(m->root_schema);
	pg_free(m->root_table);
	pg_free(m->keycols);
	for (i = 0; i < m->nrelations; i++)
	{
		pg_free(m->trunc_schemas[i]);
		pg_free(m->trunc_tables[i]);
		pg_free(m->trunc_part_schemas[i]);
		pg_free(m->trunc_part_tables[i]);
	}
	pg_free(m->trunc_relids);
	pg_free(m->trunc_schemas);
	pg_free(m->trunc_tables);
	pg_free(m->trunc_part_schemas);
	pg_free(m->trunc_part_tables);
	memset(m, 0, sizeof(*m));
}
