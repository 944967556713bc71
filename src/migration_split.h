/*-------------------------------------------------------------------------
 *
 * migration_split.h
 *		Declarations shared by the parts of the migration_split library:
 *		the ownership cache, the runtime monitor and the output plugin.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATION_SPLIT_H
#define MIGRATION_SPLIT_H

#include "postgres.h"

#include "compat.h"

/* Schema and catalog names of the extension (see migration_split--1.0.sql). */
#define MS_SCHEMA_NAME			"migration_split"
#define MS_OWNER_TABLE_NAME		"ownership"
#define MS_OWNER_INDEX_NAME		"ownership_pkey"

/*
 * Backend-local interned domain identifier.  0 means "no domain".  The same
 * name always maps to the same id for the life of the backend, so ids can be
 * compared and kept in sets cheaply; they mean nothing across backends.
 */
typedef int32 MsDomainId;

#define MS_NO_DOMAIN	((MsDomainId) 0)

/* ownership_cache.c */
extern PGDLLIMPORT uint64 ms_ownership_generation;
extern PGDLLIMPORT uint64 ms_ownership_cache_depend_misses;
extern MsDomainId ms_relation_domain(Oid relid);
extern MsDomainId ms_relation_domain_uncached(Oid relid);
extern Oid	ms_relation_owning_root(Oid relid);
extern void ms_ownership_cache_prefill(void);
extern const char *ms_domain_name(MsDomainId id);
extern MsDomainId ms_domain_id(const char *name, bool create);
extern Oid	ms_owner_table_oid(void);

/* monitor.c */
extern void ms_monitor_init(void);

#endif							/* MIGRATION_SPLIT_H */
