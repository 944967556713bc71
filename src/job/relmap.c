/*-------------------------------------------------------------------------
 *
 * relmap.c
 *		The relation map of an apply worker.
 *
 * Like the logical replication worker's relation map (relation.c in
 * PostgreSQL), the map is keyed by the source relation's OID, filled by
 * "R" messages and looked up by every change.  An entry is rebuilt in
 * place when the relation is announced again (after a schema change on the
 * source): the statements prepared for the old version keep their names,
 * new ones get a new version number.  The map belongs to one worker and its
 * connection, and lives as long as the session.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "relmap.h"

/*
 * Free what an entry points to (its prepared UPDATE variants, quoted
 * names, key layout), leaving the entry itself.
 */
static void
relmap_free_contents(ApplyRel *r)
{
	UpdStmt    *u = r->upds;
	int			i;

	while (u)
	{
		UpdStmt    *next = u->next;

		pg_free(u->sig);
		pg_free(u->cols);
		pg_free(u);
		u = next;
	}
	for (i = 0; i < r->ncols; i++)
	{
		pg_free(r->qcols[i]);
		if (r->castname)
			pg_free(r->castname[i]);
	}
	pg_free(r->castname);
	for (i = 0; r->keyop && i < r->nkey; i++)
		pg_free(r->keyop[i]);
	pg_free(r->keyop);
	for (i = 0; r->colop && i < r->ncols; i++)
		pg_free(r->colop[i]);
	pg_free(r->colop);
	pg_free(r->qcols);
	pg_free(r->skip);
	pg_free(r->always);
	pg_free(r->keypos);
	pg_free(r->arraytype);
	pg_free(r->binkind);
	pg_free(r->delim);
	pg_free(r->keytype);
	pg_free(r->schema);
	pg_free(r->table);
	pg_free(r->qname);
}

/* The entry of a source relation, or NULL when it was not announced. */
ApplyRel *
relmap_lookup(RelMap *map, unsigned int relid)
{
	int			i;

	if (map->last && map->last->relid == relid)
		return map->last;
	for (i = 0; i < map->n; i++)
		if (map->rels[i]->relid == relid)
			return map->last = map->rels[i];
	return NULL;
}

/*
 * An empty entry for relid with a new version number, replacing the old
 * one if any; the caller fills it from the "R" message.
 */
ApplyRel *
relmap_enter(RelMap *map, unsigned int relid)
{
	ApplyRel   *r = relmap_lookup(map, relid);

	if (r == NULL)
	{
		if (map->n >= map->cap)
		{
			map->cap = map->cap ? map->cap * 2 : 16;
			map->rels = pg_realloc(map->rels, sizeof(ApplyRel *) * map->cap);
		}
		r = pg_malloc0(sizeof(ApplyRel));
		map->rels[map->n++] = r;
	}
	else
	{
		relmap_free_contents(r);
		memset(r, 0, sizeof(ApplyRel));
	}
	r->relid = relid;
	r->version = ++map->versions;
	map->last = r;
	return r;
}

/* Forget every entry (the session ends). */
void
relmap_clear(RelMap *map)
{
	int			i;

	for (i = 0; i < map->n; i++)
	{
		relmap_free_contents(map->rels[i]);
		pg_free(map->rels[i]);
	}
	pg_free(map->rels);
	memset(map, 0, sizeof(RelMap));
}

/*
 * FNV-1a hash (64 bits) of a key of r's target table: the quoted target
 * name, then each value (at the positions pos, or vals in order; a NULL
 * as a byte of its own); nkey 0 hashes the table as a whole.  Never 0,
 * which marks a free entry in the hash tables that keep these (the
 * coordinator's writesets, a worker's open runs).
 */
unsigned long long
relmap_key_hash(const ApplyRel *r, char *const *vals, const int *pos, int nkey)
{
	unsigned long long h = 14695981039346656037ULL;
	const unsigned char *c;
	int			k;

	for (c = (const unsigned char *) r->qname; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	for (k = 0; k < nkey; k++)
	{
		const char *v = vals[pos ? pos[k] : k];

		h = (h ^ 0xfe) * 1099511628211ULL;
		if (v == NULL)
			h = (h ^ 0xff) * 1099511628211ULL;
		else
			for (c = (const unsigned char *) v; *c; c++)
				h = (h ^ *c) * 1099511628211ULL;
	}
	return h ? h : 1;
}
