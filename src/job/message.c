/*-------------------------------------------------------------------------
 *
 * message.c
 *		Parse one JSON message of the migration_split output plugin.
 *
 * Uses the JSON parser of libpgcommon (common/jsonapi.h) with semantic
 * callbacks that fill a Message.  The format is the contract described in
 * the README (section "decoder"), with the names of src/protocol.h: one
 * object per message, column values as JSON strings (the type's text
 * output) or null.  Unknown fields are
 * ignored so that the plugin can add fields without breaking older jobs.
 *
 * Memory: every string in a Message is allocated here and released by
 * message_free().
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/jsonapi.h"
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
ps_object_start(void *state)
{
	ParseState *ps = state;
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
ps_object_end(void *state)
{
	((ParseState *) state)->obj_depth--;
}

static void
ps_array_start(void *state)
{
	ParseState *ps = state;

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
ps_array_end(void *state)
{
	((ParseState *) state)->arr_depth--;
}

static void
ps_field_start(void *state, char *fname, bool isnull)
{
	ParseState *ps = state;

	if (ps->obj_depth == 1)
		strlcpy(ps->field, fname, sizeof(ps->field));
	else if (ps->obj_depth == 2)
		strlcpy(ps->subfield, fname, sizeof(ps->subfield));
	else
		strlcpy(ps->subsubfield, fname, sizeof(ps->subsubfield));
	pfree(fname);
}

static bool
token_bool(const char *token, JsonTokenType type)
{
	return type == JSON_TOKEN_TRUE;
}

static void
ps_scalar(void *state, char *token, JsonTokenType type)
{
	ParseState *ps = state;
	Message    *m = ps->msg;
	bool		isnull = (type == JSON_TOKEN_NULL);
	const char *f = ps->field;
	bool		keep = false;

	if (ps->obj_depth == 1 && ps->arr_depth == 0)
	{
		if (strcmp(f, "action") == 0)
			m->action = (MsgAction) token[0];
		else if (strcmp(f, MS_FLD_XID) == 0)
			m->xid = strtoull(token, NULL, 10);
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
		else if (strcmp(f, "relid") == 0)
			m->relid = (unsigned int) strtoul(token, NULL, 10);
		else if (strcmp(f, "commit_lsn") == 0 && !isnull)
			m->commit_lsn = token, keep = true;
		else if (strcmp(f, "end_lsn") == 0 && !isnull)
			m->end_lsn = token, keep = true;
		else if (strcmp(f, "commit_time") == 0 && !isnull)
			m->commit_time = token, keep = true;
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
 * Parse "data" (not necessarily NUL-terminated) into *msg.  On failure
 * returns false with *errmsg set.
 */
bool
message_parse(const char *data, int len, Message *msg, char **errmsg)
{
	JsonLexContext *lex;
	JsonSemAction sem;
	ParseState	ps;
	JsonParseErrorType rc;

	memset(msg, 0, sizeof(*msg));
	msg->action = MSG_OTHER;
	memset(&ps, 0, sizeof(ps));
	ps.msg = msg;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &ps;
	sem.object_start = ps_object_start;
	sem.object_end = ps_object_end;
	sem.array_start = ps_array_start;
	sem.array_end = ps_array_end;
	sem.object_field_start = ps_field_start;
	sem.scalar = ps_scalar;

	lex = makeJsonLexContextCstringLen(unconstify(char *, data), len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
	{
		/* json_errdetail() is not in Debian's frontend libpgcommon */
		*errmsg = psprintf("invalid message from the output plugin: JSON error %d at byte %d",
						   (int) rc, lex->token_start ? (int) (lex->token_start - lex->input) : 0);
		if (lex->strval)
		{
			pfree(lex->strval->data);
			pfree(lex->strval);
		}
		pfree(lex);
		message_free(msg);
		return false;
	}
	if (lex->strval)
	{
		pfree(lex->strval->data);
		pfree(lex->strval);
	}
	pfree(lex);
	return true;
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
