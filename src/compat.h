/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every difference between supported PostgreSQL major versions, in
 *		one place.  Only PostgreSQL 15 is supported today; new versions add
 *		their #if PG_VERSION_NUM blocks here and nowhere else.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATION_SPLIT_COMPAT_H
#define MIGRATION_SPLIT_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "migration_split supports PostgreSQL 15 only"
#endif

#endif							/* MIGRATION_SPLIT_COMPAT_H */
