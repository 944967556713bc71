/*-------------------------------------------------------------------------
 *
 * relmap.h
 *		The relation map of an apply worker: what the source's "R"
 *		messages announced, matched to the target's tables.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_RELMAP_H
#define MS_JOB_RELMAP_H

#include <stdbool.h>

/* longest run of inserts sent as one statement (see Coalescer) */
#define RELMAP_RUN_MAX 100

/* longest run of UPDATEs sent as one set-based statement */
#define RELMAP_UPD_RUN_MAX 500

/*
 * A prepared UPDATE for one set of unchanged (TOAST) columns: the per-row
 * statement and, when every column it sets and every key column has an
 * array type on the target, the set-based one for a run of such updates.
 */
typedef struct UpdStmt
{
	char	   *sig;			/* unchanged column positions, "" if none */
	char		name[64];
	int			nset;			/* columns set; a row's values are these */
	int			width;			/* then the key's, then the guards': nset +
								 * nkey + nguard */
	int			nguard;			/* GENERATED ALWAYS identity columns not in
								 * the key: matched, not set (see
								 * update_statement) */
	int		   *cols;			/* each value's column position */
	bool		set_ok;			/* runs may be sent as one statement */
	bool		run_ready;		/* the set-based statement is prepared */
	char		run_name[64];
	struct UpdStmt *next;
} UpdStmt;

/*
 * A source relation as the last "R" message described it, with the
 * statements prepared for it on the worker's connection.
 */
typedef struct ApplyRel
{
	unsigned int relid;
	char	   *schema;			/* source names */
	char	   *table;
	char	   *qname;			/* quoted target name */
	int			ncols;
	char	  **qcols;			/* quoted column names */
	bool	   *skip;			/* generated column on the target */
	bool	   *always;			/* identity column GENERATED ALWAYS on the
								 * target: an UPDATE cannot set it */
	int			nkey;
	int		   *keypos;
	char		replident;
	unsigned int *arraytype;	/* target column's array type for a run's
								 * parameter, 0: none usable */
	char	  **castname;		/* else the type a text element is cast to
								 * (an array type), or NULL: no runs */
	unsigned char *binkind;		/* BinKind: the target column has the
								 * source's built-in type, whose values go
								 * in binary (binparam.c); 0: as text */
	char	   *delim;			/* the parameter's element delimiter */
	unsigned long long sync_lsn;
	int			version;
	bool		ins_ready;
	bool		del_ready;
	bool		ins_run_ready[RELMAP_RUN_MAX + 1];
	bool		del_run_ready;
	bool		ins_unnest;
	bool		ins_unnest_ready;
	char	   *keytype;		/* type of a one-column key, for "= ANY" */
	char	  **keyop;			/* per key column, its equality operator,
								 * schema-qualified (key_operators) */
	char	  **colop;			/* per column, the equality operator of its
								 * type's default btree operator class,
								 * schema-qualified (key_operators) */
	int			nsent;			/* columns sent (not generated on the target) */
	UpdStmt    *upds;

	/*
	 * The key does not name every row a change may conflict with on the
	 * target (no key, replica identity full, another unique index or an
	 * exclusion constraint): transactions touching the table depend on
	 * each other as a whole (coordinator.c).
	 */
	bool		table_level;

	/*
	 * The target has a unique index other than the key's, or an exclusion
	 * constraint: the order in which a transaction's updates are applied
	 * matters (a row may take a value another row gives up in the same
	 * transaction), and a run's UPDATE ... FROM applies its rows in the
	 * order of the plan, not the source's, so updates go one by one.
	 */
	bool		other_unique;

	/*
	 * The target's unique index on the key compares its columns as their
	 * text does: each column has the source's type, and its btree equality
	 * is image equality (the operator class's equalimage function is
	 * btequalimage, or btvarstrequalimage under a deterministic collation).
	 * Not so for numeric (1.0 = 1.00), float (0 = -0), citext, a
	 * nondeterministic collation: two keys of different text may then be
	 * one row, which the job's hashes of keys (OpenKeys, the coordinator's
	 * writesets) would not see, so the table is table_level.
	 */
	bool		key_image;
} ApplyRel;

typedef struct RelMap
{
	ApplyRel  **rels;
	int			n;
	int			cap;
	ApplyRel   *last;			/* the last one looked up */
	int			versions;		/* names prepared statements apart */
} RelMap;

extern ApplyRel *relmap_lookup(RelMap *map, unsigned int relid);
extern ApplyRel *relmap_enter(RelMap *map, unsigned int relid);
extern void relmap_clear(RelMap *map);
extern unsigned long long relmap_key_hash(const ApplyRel *r, char *const *vals,
										  const int *pos, int nkey);

#endif							/* MS_JOB_RELMAP_H */
