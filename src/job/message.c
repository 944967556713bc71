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
 * names each field once (field_lookup), reads numbers, literals and the
 * strings the Message does not keep in place, copies a string it keeps
 * with one memcpy() into an allocation of its exact size (unless it has
 * escapes), and reads field names into the ParseState without allocating.
 * A row change (I, U, D) keeps no schema and table: its relid names the
 * relation its R message described.  It accepts what that parser accepts (with the database
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

/*
 * The fields the job reads, named by the reader once per field so that the
 * callbacks compare numbers, not strings; F_OTHER: a field it ignores.
 */
typedef enum MsgField
{
	F_OTHER = 0,
	F_ACTION,
	F_ATTNUM,
	F_CASCADE,
	F_COLUMNS,
	F_COMMIT_LSN,
	F_COMMIT_TIME,
	F_CONTENT,
	F_DOMAIN,
	F_END_LSN,
	F_IN_DOMAIN,
	F_KEY,
	F_KEY_COLUMNS,
	F_MISSING,
	F_NAME,
	F_NEW,
	F_PARTITION,
	F_PREFIX,
	F_RELATIONS,
	F_RELID,
	F_REPLICA_IDENTITY,
	F_RESTART_IDENTITY,
	F_REWRITTEN,
	F_ROOT_SCHEMA,
	F_ROOT_TABLE,
	F_SCHEMA,
	F_STREAMED,
	F_SUBXID,
	F_TABLE,
	F_TRANSACTIONAL,
	F_TYPE,
	F_TYPOID,
	F_UNCHANGED,
	F_XID
} MsgField;

typedef struct ParseState
{
	Message    *msg;
	int			obj_depth;
	int			arr_depth;
	char		field[32];		/* current field of the top-level object */
	char		subfield[32];	/* current field of a nested object */
	char		subsubfield[32];	/* field of an object nested in that */
	MsgField	field_id;		/* the same three, named */
	MsgField	subfield_id;
	MsgField	subsubfield_id;
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

/*
 * The field called name: by its first letter, then the few names that
 * begin with it (the names of src/protocol.h).
 */
static MsgField
field_lookup(const char *name)
{
#define IS(s, id) if (strcmp(name, (s)) == 0) return (id)
	switch (name[0])
	{
		case 'a':
			IS(MS_FLD_ACTION, F_ACTION);
			IS(MS_FLD_ATTNUM, F_ATTNUM);
			break;
		case 'c':
			IS(MS_FLD_COMMIT_LSN, F_COMMIT_LSN);
			IS(MS_FLD_COMMIT_TIME, F_COMMIT_TIME);
			IS(MS_FLD_COLUMNS, F_COLUMNS);
			IS(MS_FLD_CASCADE, F_CASCADE);
			IS(MS_FLD_CONTENT, F_CONTENT);
			break;
		case 'd':
			IS(MS_FLD_DOMAIN, F_DOMAIN);
			break;
		case 'e':
			IS(MS_FLD_END_LSN, F_END_LSN);
			break;
		case 'i':
			IS(MS_FLD_IN_DOMAIN, F_IN_DOMAIN);
			break;
		case 'k':
			IS(MS_FLD_KEY, F_KEY);
			IS(MS_FLD_KEY_COLUMNS, F_KEY_COLUMNS);
			break;
		case 'm':
			IS(MS_FLD_MISSING, F_MISSING);
			break;
		case 'n':
			IS(MS_FLD_NEW, F_NEW);
			IS("name", F_NAME);
			break;
		case 'p':
			IS(MS_FLD_PREFIX, F_PREFIX);
			IS(MS_FLD_PARTITION, F_PARTITION);
			break;
		case 'r':
			IS(MS_FLD_RELID, F_RELID);
			IS(MS_FLD_REPLICA_IDENTITY, F_REPLICA_IDENTITY);
			IS(MS_FLD_RELATIONS, F_RELATIONS);
			IS(MS_FLD_RESTART_IDENTITY, F_RESTART_IDENTITY);
			IS(MS_FLD_REWRITTEN, F_REWRITTEN);
			IS(MS_FLD_ROOT_SCHEMA, F_ROOT_SCHEMA);
			IS(MS_FLD_ROOT_TABLE, F_ROOT_TABLE);
			break;
		case 's':
			IS(MS_FLD_SCHEMA, F_SCHEMA);
			IS(MS_FLD_SUBXID, F_SUBXID);
			IS(MS_FLD_STREAMED, F_STREAMED);
			break;
		case 't':
			IS(MS_FLD_TABLE, F_TABLE);
			IS("type", F_TYPE);
			IS("typoid", F_TYPOID);
			IS(MS_FLD_TRANSACTIONAL, F_TRANSACTIONAL);
			break;
		case 'u':
			IS(MS_FLD_UNCHANGED, F_UNCHANGED);
			break;
		case 'x':
			IS(MS_FLD_XID, F_XID);
			break;
	}
#undef IS
	return F_OTHER;
}

static void
ps_object_start(ParseState *ps)
{
	Message    *m = ps->msg;

	ps->obj_depth++;
	if (ps->obj_depth == 2 && ps->arr_depth == 1)
	{
		if (ps->field_id == F_COLUMNS)
		{
			GROW(m->columns, m->ncolumns, ps->cap_columns, MsgColumn);
			memset(&m->columns[m->ncolumns], 0, sizeof(MsgColumn));
			m->ncolumns++;
		}
		else if (ps->field_id == F_RELATIONS)
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
		if (ps->field_id == F_KEY && ps->msg->keyvals == NULL)
		{
			ps->cap_key = 16;
			ps->msg->keyvals = pg_malloc(sizeof(char *) * ps->cap_key);
		}
		else if (ps->field_id == F_NEW && ps->msg->newvals == NULL)
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

/* Name the field just read into ps_field_buffer(). */
static void
ps_field_read(ParseState *ps)
{
	if (ps->obj_depth == 1)
		ps->field_id = field_lookup(ps->field);
	else if (ps->obj_depth == 2)
		ps->subfield_id = field_lookup(ps->subfield);
	else
		ps->subsubfield_id = field_lookup(ps->subsubfield);
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

/*
 * A scalar as the reader found it: a string without escapes, a number or a
 * literal is a view into the message (text[0..len), not NUL-terminated); a
 * string with escapes is de-escaped into an allocation (owned), which the
 * Message takes or the reader frees.  So only what the Message keeps is
 * allocated, once.
 */
typedef struct JsonToken
{
	const char *text;
	int			len;
	char	   *owned;			/* text, when allocated */
	JsonScalar	type;
} JsonToken;

/* The token's text in an allocation of its own, for the Message. */
static char *
token_keep(JsonToken *tok)
{
	char	   *s = tok->owned;

	if (s == NULL)
	{
		s = pg_malloc(tok->len + 1);
		memcpy(s, tok->text, tok->len);
		s[tok->len] = '\0';
	}
	tok->owned = NULL;
	return s;
}

/*
 * The token's number, as strtoull() reads its text (the plugin writes
 * these fields as JSON numbers; a longer text is no number of the format).
 */
static unsigned long long
token_ull(const JsonToken *tok)
{
	char		buf[32];

	if (tok->len >= (int) sizeof(buf))
		return 0;
	memcpy(buf, tok->text, tok->len);
	buf[tok->len] = '\0';
	return strtoull(buf, NULL, 10);
}

static int
token_int(const JsonToken *tok)
{
	return (int) (long long) token_ull(tok);
}

/* Whether the token's text is the string s. */
static bool
token_is(const JsonToken *tok, const char *s)
{
	return strncmp(tok->text, s, tok->len) == 0 && s[tok->len] == '\0';
}


/* One scalar: its text is kept by the Message (token_keep) or dropped. */
static void
ps_scalar(ParseState *ps, JsonToken *tok)
{
	Message    *m = ps->msg;
	bool		isnull = (tok->type == JSON_SCALAR_NULL);
	bool		istrue = (tok->type == JSON_SCALAR_TRUE);

	if (ps->obj_depth == 1 && ps->arr_depth == 0)
	{
		switch (ps->field_id)
		{
			case F_ACTION:
				m->action = (MsgAction) (tok->len > 0 ? tok->text[0] : '\0');
				break;
			case F_RELID:
				m->relid = (unsigned int) token_ull(tok);
				break;
			case F_XID:
				m->xid = token_ull(tok);
				break;
			case F_COMMIT_LSN:
				if (!isnull)
					m->commit_lsn = token_keep(tok);
				break;
			case F_END_LSN:
				if (!isnull)
					m->end_lsn = token_keep(tok);
				break;
			case F_COMMIT_TIME:
				if (!isnull)
					m->commit_time = token_keep(tok);
				break;
			case F_SUBXID:
				m->subxid = token_ull(tok);
				break;
			case F_IN_DOMAIN:
				m->in_domain = istrue;
				break;
			case F_DOMAIN:
				if (!isnull)
					m->domain = token_keep(tok);
				break;
			case F_ROOT_SCHEMA:
				if (!isnull)
					m->root_schema = token_keep(tok);
				break;
			case F_ROOT_TABLE:
				if (!isnull)
					m->root_table = token_keep(tok);
				break;
			case F_SCHEMA:
				/* a row change names its relation by relid alone */
				if (!isnull && !message_is_row_change(m))
					m->schema = token_keep(tok);
				break;
			case F_TABLE:
				if (!isnull && !message_is_row_change(m))
					m->table = token_keep(tok);
				break;
			case F_REPLICA_IDENTITY:
				if (!isnull)
					m->replica_identity = tok->len > 0 ? tok->text[0] : '\0';
				break;
			case F_KEY:
				if (isnull)
					m->key_null = true;
				break;
			case F_CASCADE:
				m->cascade = istrue;
				break;
			case F_RESTART_IDENTITY:
				m->restart_identity = istrue;
				break;
			case F_TRANSACTIONAL:
				m->transactional = istrue;
				break;
			case F_STREAMED:
				m->streamed = istrue;
				break;
			case F_PREFIX:
				if (!isnull)
					m->prefix = token_keep(tok);
				break;
			case F_CONTENT:
				if (!isnull)
					m->content = token_keep(tok);
				break;
			default:
				break;
		}
	}
	else if (ps->obj_depth == 1 && ps->arr_depth == 1)
	{
		switch (ps->field_id)
		{
			case F_NEW:
				GROW(m->newvals, m->nnew, ps->cap_new, char *);
				m->newvals[m->nnew++] = isnull ? NULL : token_keep(tok);
				break;
			case F_KEY:
				GROW(m->keyvals, m->nkey, ps->cap_key, char *);
				m->keyvals[m->nkey++] = isnull ? NULL : token_keep(tok);
				break;
			case F_UNCHANGED:
				GROW(m->unchanged, m->nunchanged, ps->cap_unchanged, int);
				m->unchanged[m->nunchanged++] = token_int(tok);
				break;
			case F_KEY_COLUMNS:
				GROW(m->keycols, m->nkeycols, ps->cap_keycols, int);
				m->keycols[m->nkeycols++] = token_int(tok);
				break;
			case F_REWRITTEN:
				if (!isnull)
				{
					int			i;

					/* the plugin writes this list after "columns" */
					for (i = 0; i < m->ncolumns; i++)
						if (m->columns[i].name && token_is(tok, m->columns[i].name))
							m->columns[i].rewritten = true;
				}
				break;
			default:
				break;
		}
	}
	else if (ps->obj_depth == 2 && ps->arr_depth == 1)
	{
		if (ps->field_id == F_COLUMNS && m->ncolumns > 0)
		{
			MsgColumn  *c = &m->columns[m->ncolumns - 1];

			switch (ps->subfield_id)
			{
				case F_NAME:
					if (!isnull)
						c->name = token_keep(tok);
					break;
				case F_TYPE:
					if (!isnull)
						c->type = token_keep(tok);
					break;
				case F_TYPOID:
					c->typoid = (unsigned int) token_ull(tok);
					break;
				case F_KEY:
					c->key = istrue;
					break;
				case F_MISSING:
					if (!isnull)
						c->missing = token_keep(tok);
					break;
				case F_ATTNUM:
					if (!isnull)
						c->attnum = token_int(tok);
					break;
				default:
					break;
			}
		}
		else if (ps->field_id == F_RELATIONS && m->nrelations > 0)
		{
			int			i = m->nrelations - 1;

			if (ps->subfield_id == F_RELID)
				m->trunc_relids[i] = (unsigned int) token_ull(tok);
			else if (ps->subfield_id == F_SCHEMA && !isnull)
				m->trunc_schemas[i] = token_keep(tok);
			else if (ps->subfield_id == F_TABLE && !isnull)
				m->trunc_tables[i] = token_keep(tok);
		}
	}
	else if (ps->obj_depth == 3 && ps->arr_depth == 1 &&
			 ps->field_id == F_RELATIONS && ps->subfield_id == F_PARTITION &&
			 m->nrelations > 0 && !isnull)
	{
		/* the partition a TRUNCATE named, when not the root itself */
		int			i = m->nrelations - 1;

		if (ps->subsubfield_id == F_SCHEMA && m->trunc_part_schemas[i] == NULL)
			m->trunc_part_schemas[i] = token_keep(tok);
		else if (ps->subsubfield_id == F_TABLE && m->trunc_part_tables[i] == NULL)
			m->trunc_part_tables[i] = token_keep(tok);
	}
	pg_free(tok->owned);
	tok->owned = NULL;
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
 * Read a string at jr->p (its opening quote).  With tok, its text is
 * returned there: a view of the message when it has no escape, else
 * de-escaped into an allocation (tok->owned).  Otherwise it goes into
 * name[0..namesize), cut short if longer (a field name: no field of the
 * format is that long).
 */
static bool
jr_string(JsonReader *jr, JsonToken *tok, char *name, size_t namesize)
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

	if (tok != NULL)
	{
		tok->type = JSON_SCALAR_STRING;
		tok->owned = NULL;
		if (!escaped)
		{
			tok->text = body;
			tok->len = rawlen;
			return true;
		}
		dst = pg_malloc(rawlen + 1);
		if ((len = jr_unescape(jr, body, rawlen, dst)) < 0)
		{
			pg_free(dst);
			return false;
		}
		dst[len] = '\0';
		tok->text = tok->owned = dst;
		tok->len = len;
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

/* Read a number at jr->p, as RFC 8259 writes one, as a view. */
static bool
jr_number(JsonReader *jr, JsonToken *tok)
{
	const char *p = jr->p;
	const char *e = jr->end;

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
	tok->type = JSON_SCALAR_NUMBER;
	tok->text = jr->p;
	tok->len = p - jr->p;
	tok->owned = NULL;
	jr->p = p;
	return true;
}

/* Read the literal word at jr->p, which must be followed by a delimiter. */
static bool
jr_literal(JsonReader *jr, const char *word, JsonScalar type, ParseState *ps)
{
	size_t		len = strlen(word);
	JsonToken	tok;

	if ((size_t) (jr->end - jr->p) < len || memcmp(jr->p, word, len) != 0 ||
		(jr->p + len < jr->end &&
		 (isalnum((unsigned char) jr->p[len]) || jr->p[len] == '_')))
		return jr_fail(jr, "invalid token");
	jr->p += len;
	tok.type = type;
	tok.text = word;
	tok.len = (int) len;
	tok.owned = NULL;
	ps_scalar(ps, &tok);
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
			ps_field_read(ps);
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
	JsonToken	tok;
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
			if (!jr_string(jr, &tok, NULL, 0))
				return false;
			ps_scalar(ps, &tok);
			return true;
		case 't':
			return jr_literal(jr, "true", JSON_SCALAR_TRUE, ps);
		case 'f':
			return jr_literal(jr, "false", JSON_SCALAR_FALSE, ps);
		case 'n':
			return jr_literal(jr, "null", JSON_SCALAR_NULL, ps);
		default:
			if (!jr_number(jr, &tok))
				return false;
			ps_scalar(ps, &tok);
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

/* Whether m is a change of a row (I, U, D), whose relid names its relation. */
bool
message_is_row_change(const Message *m)
{
	return m->action == MSG_INSERT || m->action == MSG_UPDATE || m->action == MSG_DELETE;
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
