/*-------------------------------------------------------------------------
 *
 * monitor_track.c
 *		Per-statement work of the runtime boundary monitor: classify the
 *		relations a statement reaches by domain, count cross-domain
 *		statements, remember the domains a transaction writes to and count
 *		the transaction at commit, and normalize query texts.
 *
 * Hot path (every executed statement): one walk over the final range table
 * with one domain lookup per relation (a direct-mapped front cache over
 * ms_relation_domain's hash), no allocation and no lock unless the
 * statement crosses domains; then a shared LWLock and the entry's spinlock
 * when the entry exists.  Catalog access (table names) and text
 * normalization happen only when an entry is created.  At parse time,
 * ms_query_may_cross() does a similar cheap walk to decide whether the
 * statement needs a query id (see ms_post_parse_analyze in monitor.c).
 *
 * Which relations count: every RTE_RELATION of the executor's range table
 * except views.  After rewriting, PostgreSQL 15 keeps the view's own entry
 * and adds the base tables behind it, so base tables reached through views
 * count; subqueries, CTEs and data-modifying CTEs are flattened into the
 * same range table; partitions resolve to their root's domain.  Statements
 * run inside functions have their own ExecutorStart and count at
 * migration_split.track = all.
 *
 * Remote calls: a foreign table with a domain (the read path of an
 * extracted domain: enable_read_path() tags it) makes the statement a
 * remote call into that domain, recorded even when it reaches no other
 * domain.  Only such statements get an Instrumentation (when nobody else
 * asked for one) and are remembered until their ExecutorEnd adds rows and
 * time to the entry: every other statement pays one compare there.
 *
 * Writers of cross-domain transactions: their query ids come from
 * templates of statement texts (MsTemplate) rather than a jumble, after
 * the first time; at executor start they keep a reference to their
 * template (or a copy of their text when their id was jumbled), and their
 * texts are normalized at commit only when the shared entry lacks them.
 *
 * Foreign-key enforcement: ri_triggers.c runs its check and cascade
 * queries with SECURITY_NOFORCE_RLS in the security context, which nothing
 * else in PostgreSQL sets, through SPI_execute_snapshot() without firing
 * triggers.  Those statements are neither counted nor enforced nor
 * recorded as transaction writes (ms_is_foreign_key_query).  Statements
 * nested in them (of the BEFORE triggers of a cascaded row, and the
 * functions those call) inherit the security context but are the code of
 * their authors: they are counted and enforced like any other.
 *
 * Normalized texts: post_parse_analyze_hook copies the constant locations
 * the query jumble found (a few bytes per constant) into a backend-local
 * stash together with the query id.  When ExecutorStart creates an entry
 * for that query id, the stash replaces each constant by $n, as
 * pg_stat_statements does.  When the stash belongs to another statement
 * (a prepared statement parsed long before it ran), the statement text is
 * stored as is.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "common/keywords.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "parser/parsetree.h"
#include "parser/scanner.h"
#include "parser/gramparse.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "monitor.h"

/* Most relations of one statement whose domains are examined one by one. */
#define MS_MAX_DISTINCT		MS_ENTRY_DOMAINS

/* Domains written by the current transaction (backend-local ids). */
static MsDomainId xact_domains[MS_ENTRY_DOMAINS];
static int	xact_ndomains = 0;

/*
 * The statements that first wrote a domain in the current transaction:
 * their text, normalized only at commit and only when the transaction
 * wrote two domains or more and the shared entry lacks it.  A statement
 * whose query id came from a template (MsTemplate) keeps a reference to
 * it: the template's text differs from the statement's in the values of
 * its literals only, which normalization replaces.  Other statements get a
 * copy of their text and constant locations at executor start (a memcpy),
 * and so do those whose template is about to go (ms_samples_detach).
 */
#define MS_XACT_RAW_LEN		1024
#define MS_XACT_LOCS		64

typedef struct MsPendingSample
{
	uint64		queryid;
	Oid			userid;
	int			len;			/* bytes of raw */
	int			nlocs;			/* -1: no constant locations known */
	int			first_param;
	int			tmpl;			/* template holding the text, or -1: raw */
	LocationLen locs[MS_XACT_LOCS]; /* relative to raw */
	char		raw[MS_XACT_RAW_LEN];
} MsPendingSample;

static MsPendingSample xact_samples[MS_XACT_SAMPLES];
static int	xact_nsamples = 0;

/*
 * Remote calls (statements reading a read path) being executed, whose rows
 * and time ExecutorEnd adds to their entries; a few levels of nesting.
 */
#define MS_REMOTE_PENDING	16

typedef struct MsRemotePending
{
	QueryDesc  *queryDesc;
	uint64		queryid;
	Oid			userid;
	MsDomainSet domains;		/* with queryid and userid, the entry's key */
	MsDomainSet remote;
	SubTransactionId subid;
} MsRemotePending;

static MsRemotePending remote_pending[MS_REMOTE_PENDING];
int			ms_remote_npending = 0;

/*
 * Sizes of the sets above when each open subtransaction started, indexed
 * by nesting level; the sets only grow, so truncating them to these sizes
 * forgets the writes of an aborted subtransaction.
 */
typedef struct MsSubSave
{
	int			ndomains;
	int			nsamples;
	int			nesting_level;	/* ms_nesting_level (see monitor.c) */
} MsSubSave;

static MsSubSave *sub_saves = NULL;
static int	sub_saves_len = 0;

/* Constant locations of the last analyzed statement. */
static uint64 stash_queryid = 0;
static const char *stash_source = NULL;
static LocationLen *stash_locs = NULL;
static int	stash_nlocs = 0;
static int	stash_cap = 0;
static int	stash_first_param = 0;

/*
 * Direct-mapped front cache of ms_relation_domain(): the hot path asks for
 * the same few relations at parse time and at executor start, and a slot
 * compare is much cheaper than a dynahash lookup.  The ownership cache is
 * the one source of truth: the slots are valid for one value of
 * ms_ownership_generation, which moves with every flush of that cache.
 */
#define MS_FRONT_SIZE	256

typedef struct MsFrontSlot
{
	Oid			relid;			/* InvalidOid: empty */
	MsDomainId	domain;
} MsFrontSlot;

static MsFrontSlot ms_front[MS_FRONT_SIZE];
static uint64 ms_front_generation = 0;	/* the slots' generation */

/*
 * Query ids of writing statements, by the shape of their text (see
 * ms_cached_writer_id): a few templates per backend, each the text of a
 * statement this backend jumbled, with the place and kind of each literal
 * in it, the user and the search_path it ran with, and its query id.  A
 * statement whose text equals a template's but for the values of its
 * literals (same kinds: integer that fits int4, that fits int8, other
 * number, string), for the same user and search_path, whose names resolve
 * to the same relations (ms_relations_fingerprint), takes the template's
 * query id, as the jumble ignores constant values.  Comparing is a memcmp
 * per stretch of text between literals plus a look at each literal: much
 * cheaper than hashing the text byte by byte, which every statement that
 * writes a domain its transaction has not written yet would pay.  Like the
 * front cache, the templates are valid for one value of
 * ms_ownership_generation: a statement's id depends on the relations its
 * names resolve to, and the written relations are in the ownership cache,
 * whose flush (DROP, RENAME, search_path-visible schema changes) moves the
 * generation.  An id that only a function's or type's re-creation changed
 * stays until then: it labels a writer, it decides nothing.
 */
#define MS_TEMPLATES		8

typedef struct MsLiteral
{
	int			start;			/* offset of its first byte */
	int			end;			/* offset after it */
	char		kind;			/* MS_LIT_* */
} MsLiteral;

#define MS_LIT_STRING	1
#define MS_LIT_NUMBER	2		/* not an integer, or too big for int8 */
#define MS_LIT_INT4		3
#define MS_LIT_INT8		4

typedef struct MsTemplate
{
	Oid			userid;			/* InvalidOid: empty */
	uint64		queryid;
	char	   *text;
	int			len;
	MsLiteral  *lits;
	int			nlits;
	char	   *search_path;
	uint64		relations;		/* ms_relations_fingerprint() of its query */
	uint64		serial;			/* ms_template_serial at its creation */
} MsTemplate;

static MsTemplate ms_templates[MS_TEMPLATES];
static int	ms_template_next = 0;	/* the one to replace next */
/* the template matched last by a statement writing the k-th domain */
static int	ms_template_hint[MS_ENTRY_DOMAINS];
static int	ms_template_count = 0;	/* filled ones */
static uint64 ms_template_generation = 0;	/* the templates' generation */
static MemoryContext ms_template_context = NULL;
static uint64 ms_template_serial = 0;	/* templates created so far */

/* The template that gave the last analyzed statement its query id. */
static uint64 tmpl_stash_queryid = 0;
static const char *tmpl_stash_source = NULL;
static int	tmpl_stash_index = 0;
static uint64 tmpl_stash_serial = 0;

static void ms_xact_callback(XactEvent event, void *arg);
static void ms_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg);
static void ms_record_statement(QueryDesc *queryDesc, const MsDomainId *domains,
								int ndomains, const MsDomainId *remote,
								int nremote);
static void ms_time_remote_call(QueryDesc *queryDesc, const MsDomainSet *domains,
								const MsDomainSet *remote);
static void ms_remember_writer(QueryDesc *queryDesc);
static void ms_count_crossing_xact(void);
static void ms_to_shared_set(const MsDomainId *local, int n, MsDomainSet *set);
static char *ms_table_list(List *rtable, Oid *relids);
static int	ms_loc_cmp(const void *a, const void *b);

void
ms_track_init(void)
{
	RegisterXactCallback(ms_xact_callback, NULL);
	RegisterSubXactCallback(ms_subxact_callback, NULL);
}

/*
 * Query ids of writing statements from their text: see MsTemplate.
 */
static inline bool
ms_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
ms_is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		ms_is_digit(c) || c == '_' || c == '$' || (unsigned char) c >= 0x80;
}

/* Does a literal start at text[i]: a quote, or a digit not in a name? */
static inline bool
ms_literal_starts(const char *text, int i)
{
	char		c = text[i];

	if (c == '\'')
		return true;
	return ms_is_digit(c) && (i == 0 || !ms_is_ident_char(text[i - 1]));
}

/* The kind of an integer literal of n digits starting at s. */
static inline char
ms_integer_kind(const char *s, int n)
{
	if (n < 10 || (n == 10 && strncmp(s, "2147483647", 10) <= 0))
		return MS_LIT_INT4;
	if (n < 19 || (n == 19 && strncmp(s, "9223372036854775807", 19) <= 0))
		return MS_LIT_INT8;
	return MS_LIT_NUMBER;
}

/* The end of the string literal whose opening quote is text[i]. */
static inline int
ms_string_end(const char *text, int len, int i)
{
	/* '' inside it is a quote */
	i++;
	while (i < len)
	{
		if (text[i] == '\'' && (i + 1 >= len || text[i + 1] != '\''))
			break;
		i += (text[i] == '\'') ? 2 : 1;
	}
	return Min(i + 1, len);
}

/*
 * The end of the literal starting at text[i] (ms_literal_starts), and its
 * kind in *kind.
 */
static int
ms_literal_end(const char *text, int len, int i, char *kind)
{
	int			start = i;
	bool		integer = true;

	if (text[i] == '\'')
	{
		*kind = MS_LIT_STRING;
		return ms_string_end(text, len, i);
	}
	/* the common case first: digits only */
	while (i < len && ms_is_digit(text[i]))
		i++;
	while (i < len && (ms_is_digit(text[i]) || text[i] == '.' ||
					   text[i] == 'e' || text[i] == 'E' ||
					   ((text[i] == '+' || text[i] == '-') &&
						(text[i - 1] == 'e' || text[i - 1] == 'E'))))
	{
		if (!ms_is_digit(text[i]))
			integer = false;
		i++;
	}
	*kind = integer ? ms_integer_kind(text + start, i - start) : MS_LIT_NUMBER;
	return i;
}

/*
 * The text of one statement of a source string.  A location and length
 * set by the parser are trusted, as pg_stat_statements does; the source's
 * length is measured only when the statement runs to its end.
 */
static inline void
ms_statement_text(const char *source, int loc, int len, const char **text,
				  int *textlen)
{
	int			srclen;

	if (loc >= 0 && len > 0)
	{
		*text = source + loc;
		*textlen = len;
		return;
	}
	srclen = strlen(source);
	if (loc < 0 || loc > srclen)
	{
		loc = 0;
		len = srclen;
	}
	else if (len <= 0 || loc + len > srclen)
		len = srclen - loc;
	*text = source + loc;
	*textlen = len;
}

/*
 * Does text equal template t but for the values of its literals?  The
 * stretch before each literal is compared with memcmp; the literal at its
 * end must be of the template's kind.  Since the stretch equals the
 * template's, the character before a literal needs no look when the
 * stretch is not empty: at the template's creation it was no part of a
 * name.
 */
static bool
ms_template_matches(const MsTemplate *t, const char *text, int len)
{
	int			tpos = 0;
	int			cpos = 0;
	int			k;

	for (k = 0; k < t->nlits; k++)
	{
		const MsLiteral *lit = &t->lits[k];
		int			seg = lit->start - tpos;
		int			start;
		char		c;

		if (cpos + seg >= len ||
			memcmp(text + cpos, t->text + tpos, seg) != 0)
			return false;
		cpos += seg;
		c = text[cpos];
		if (lit->kind == MS_LIT_STRING)
		{
			if (c != '\'')
				return false;
			cpos = ms_string_end(text, len, cpos);
		}
		else
		{
			if (!ms_is_digit(c) ||
				(seg == 0 && cpos > 0 && ms_is_ident_char(text[cpos - 1])))
				return false;
			start = cpos;
			while (cpos < len && ms_is_digit(text[cpos]))
				cpos++;
			if (cpos < len && (text[cpos] == '.' || text[cpos] == 'e' ||
							   text[cpos] == 'E'))
			{
				char		kind;

				cpos = ms_literal_end(text, len, start, &kind);
				if (kind != lit->kind)
					return false;
			}
			else if (ms_integer_kind(text + start, cpos - start) != lit->kind)
				return false;
		}
		tpos = lit->end;
	}
	return len - cpos == t->len - tpos &&
		memcmp(text + cpos, t->text + tpos, t->len - tpos) == 0;
}

/*
 * A fingerprint of the relations a query's names resolved to: the oids of
 * its range table's relations, of its subqueries' and its CTEs', in order
 * (FNV-1a over the oids).  The same text with the same search_path can
 * name other relations than when a template was made (a table created
 * since in a schema earlier on the search_path shadows the one it named),
 * and the query id then differs: the template must not give its id.
 * Relations named only in sublinks of expressions are not walked.
 */
static uint64
ms_relations_fingerprint(const Query *query)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);
	ListCell   *lc;

	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION)
			h = (h ^ rte->relid) * UINT64CONST(0x100000001b3);
		else if (rte->rtekind == RTE_SUBQUERY && rte->subquery != NULL)
			h = (h ^ ms_relations_fingerprint(rte->subquery)) *
				UINT64CONST(0x100000001b3);
	}
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			h = (h ^ ms_relations_fingerprint((Query *) cte->ctequery)) *
				UINT64CONST(0x100000001b3);
	}
	return h;
}

/*
 * Does template t hold text, run by this user with this search_path, its
 * names resolving to the same relations?
 */
static inline bool
ms_template_fits(const MsTemplate *t, Oid userid, const char *search_path,
				 uint64 relations, const char *text, int len)
{
	return t->userid == userid && t->relations == relations &&
		t->text[0] == text[0] &&
		ms_template_matches(t, text, len) &&
		strcmp(t->search_path, search_path) == 0;
}

/*
 * Set the query id of a writing statement from a template when this user
 * ran one of the same shape with the same search_path before; false when
 * the caller must jumble it (and then call ms_cache_writer_id).  This keeps
 * the cost of naming the writers of cross-domain transactions to a
 * comparison with a template per statement that writes a new domain: the
 * template that the statement writing the same number of domains matched
 * last is tried first (a transaction's writers tend to come in the same
 * order), then the others, the most recent first.
 */
bool
ms_cached_writer_id(Query *query, const char *source)
{
	const char *text;
	const char *search_path = namespace_search_path ? namespace_search_path : "";
	int			len;
	Oid			userid = GetUserId();
	int			pos = Min(xact_ndomains, MS_ENTRY_DOMAINS - 1);
	int			hint = ms_template_hint[pos];
	uint64		relations;
	int			i;

	if (source == NULL ||
		unlikely(ms_template_generation != ms_ownership_generation))
		return false;
	ms_statement_text(source, query->stmt_location, query->stmt_len, &text, &len);
	if (len <= 0)
		return false;
	relations = ms_relations_fingerprint(query);
	if (!ms_template_fits(&ms_templates[hint], userid, search_path, relations,
						  text, len))
	{
		for (i = 1; i <= ms_template_count; i++)
		{
			int			k = (ms_template_next + MS_TEMPLATES - i) % MS_TEMPLATES;

			if (k != hint &&
				ms_template_fits(&ms_templates[k], userid, search_path,
								 relations, text, len))
				break;
		}
		if (i > ms_template_count)
			return false;
		hint = (ms_template_next + MS_TEMPLATES - i) % MS_TEMPLATES;
		ms_template_hint[pos] = hint;
	}
	query->queryId = ms_templates[hint].queryid;
	/* for ms_remember_writer, which then keeps a reference, not a copy */
	tmpl_stash_queryid = query->queryId;
	tmpl_stash_source = source;
	tmpl_stash_index = hint;
	tmpl_stash_serial = ms_templates[hint].serial;
	return true;
}

/*
 * Give a pending sample its own copy of a text (no constant locations),
 * cut at a character boundary: the text is shown as it is when its
 * normalized form is shorter than the bytes kept.
 */
static void
ms_sample_copy_text(MsPendingSample *sample, const char *text, int len)
{
	sample->len = len < MS_XACT_RAW_LEN ? len :
		pg_mbcliplen(text, len, MS_XACT_RAW_LEN - 1);
	memcpy(sample->raw, text, sample->len);
	sample->raw[sample->len] = '\0';
	sample->nlocs = -1;
	sample->tmpl = -1;
}

/*
 * Template idx (all templates when -1) is about to go: the pending samples
 * that refer to it get a copy of its text.
 */
static void
ms_samples_detach(int idx)
{
	int			i;

	for (i = 0; i < xact_nsamples; i++)
	{
		MsPendingSample *p = &xact_samples[i];

		if (p->tmpl >= 0 && (idx < 0 || p->tmpl == idx))
			ms_sample_copy_text(p, ms_templates[p->tmpl].text,
								ms_templates[p->tmpl].len);
	}
}

/*
 * Keep the text of a writing statement just jumbled as a template, in
 * place of the oldest one.  All templates go when the generation moved.
 */
void
ms_cache_writer_id(Query *query, const char *source)
{
	const char *text;
	int			len;
	int			i;
	int			nlits = 0;
	int			maxlits = 8;
	MsTemplate *t;
	MemoryContext oldcxt;

	if (source == NULL || query->queryId == UINT64CONST(0))
		return;
	if (ms_template_context == NULL)
		ms_template_context = AllocSetContextCreate(TopMemoryContext,
													"migration_split writer templates",
													ALLOCSET_SMALL_SIZES);
	if (ms_template_generation != ms_ownership_generation)
	{
		ms_samples_detach(-1);
		MemoryContextReset(ms_template_context);
		memset(ms_templates, 0, sizeof(ms_templates));
		ms_template_next = 0;
		ms_template_count = 0;
		ms_template_generation = ms_ownership_generation;
	}
	ms_statement_text(source, query->stmt_location, query->stmt_len, &text, &len);

	ms_template_hint[Min(xact_ndomains, MS_ENTRY_DOMAINS - 1)] = ms_template_next;
	t = &ms_templates[ms_template_next];
	ms_template_next = (ms_template_next + 1) % MS_TEMPLATES;
	ms_template_count = Min(ms_template_count + 1, MS_TEMPLATES);
	if (t->text)
	{
		ms_samples_detach(t - ms_templates);
		pfree(t->text);
		pfree(t->lits);
		pfree(t->search_path);
	}
	memset(t, 0, sizeof(*t));

	oldcxt = MemoryContextSwitchTo(ms_template_context);
	t->text = pnstrdup(text, len);
	t->len = len;
	t->lits = palloc(sizeof(MsLiteral) * maxlits);
	for (i = 0; i < len;)
	{
		if (!ms_literal_starts(text, i))
		{
			i++;
			continue;
		}
		if (nlits == maxlits)
		{
			maxlits *= 2;
			t->lits = repalloc(t->lits, sizeof(MsLiteral) * maxlits);
		}
		t->lits[nlits].start = i;
		i = ms_literal_end(text, len, i, &t->lits[nlits].kind);
		t->lits[nlits].end = i;
		nlits++;
	}
	t->nlits = nlits;
	t->search_path = pstrdup(namespace_search_path ? namespace_search_path : "");
	MemoryContextSwitchTo(oldcxt);
	t->queryid = query->queryId;
	t->userid = GetUserId();
	t->relations = ms_relations_fingerprint(query);
	t->serial = ++ms_template_serial;
}

/*
 * Locations of the literal constants of a statement, found with the core
 * scanner, for the normalization of a statement whose query id came from
 * the cache (no jumble, hence no constant locations).
 */
static int
ms_scan_literal_locs(const char *text, LocationLen *locs, int max)
{
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			n = 0;

	yyscanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	yyextra.escape_string_warning = false;
	while (n < max)
	{
		int			tok = core_yylex(&yylval, &yylloc, yyscanner);

		if (tok == 0)
			break;
		if (tok == ICONST || tok == FCONST || tok == SCONST || tok == USCONST ||
			tok == BCONST || tok == XCONST)
		{
			locs[n].location = yylloc;
			locs[n].length = -1;
			n++;
		}
	}
	scanner_finish(yyscanner);
	return n;
}

/*
 * ms_relation_domain() through the front cache.  An answer is stored only
 * if the generation did not move while it was looked up (the lookup may
 * process invalidations).
 */
static inline MsDomainId
ms_domain_of(Oid relid)
{
	uint64		generation = ms_ownership_generation;
	MsFrontSlot *slot = &ms_front[relid % MS_FRONT_SIZE];
	MsDomainId	d;

	if (unlikely(ms_front_generation != generation))
	{
		memset(ms_front, 0, sizeof(ms_front));
		ms_front_generation = generation;
	}
	if (slot->relid == relid && OidIsValid(relid))
		return slot->domain;
	d = ms_relation_domain(relid);
	if (ms_ownership_generation == generation)
	{
		slot->relid = relid;
		slot->domain = d;
	}
	return d;
}

/* Add d to a small set; false when the set is full. */
static inline bool
ms_add_domain(MsDomainId *set, int *n, MsDomainId d)
{
	int			i;

	for (i = 0; i < *n; i++)
		if (set[i] == d)
			return true;
	if (*n >= MS_ENTRY_DOMAINS)
		return false;
	set[(*n)++] = d;
	return true;
}

/*
 * Remember the constant locations of a freshly analyzed statement
 * (post_parse_analyze_hook).
 */
void
ms_track_post_parse(Query *query, JumbleState *jstate, const char *sourceText)
{
	if (query->queryId == UINT64CONST(0))
		return;

	if (jstate->clocations_count > stash_cap)
	{
		int			newcap = Max(32, jstate->clocations_count * 2);

		if (stash_locs)
			pfree(stash_locs);
		stash_locs = MemoryContextAlloc(TopMemoryContext,
										sizeof(LocationLen) * newcap);
		stash_cap = newcap;
	}
	if (jstate->clocations_count > 0)
		memcpy(stash_locs, jstate->clocations,
			   sizeof(LocationLen) * jstate->clocations_count);
	stash_nlocs = jstate->clocations_count;
	stash_first_param = jstate->highest_extern_param_id;
	stash_queryid = query->queryId;
	stash_source = sourceText;
}

/*
 * Might this freshly analyzed statement reach two domains once executed,
 * or the read path of a domain (a foreign table it owns)?  Cheap and
 * conservative: true for views and sublinks (not expanded yet), otherwise
 * compares the domains of the relations of the range table, its
 * subqueries and CTEs.  Inheritance children tagged with another domain
 * than their parent are not seen here.  When target is not NULL (the top
 * query), the domain of the result relation goes there as the walk passes
 * it.
 */
static bool
ms_may_cross_walk(Query *query, MsDomainId *first, MsDomainId *target)
{
	ListCell   *lc;
	int			rti = 0;

	if (query->hasSubLinks)
		return true;
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind == RTE_RELATION)
		{
			MsDomainId	d;

			if (rte->relkind == RELKIND_VIEW)
				return true;
			d = ms_domain_of(rte->relid);
			if (d == MS_NO_DOMAIN)
				continue;
			/* a read path: a remote call into the domain, always recorded */
			if (rte->relkind == RELKIND_FOREIGN_TABLE)
				return true;
			if (target != NULL && rti == query->resultRelation)
				*target = d;
			if (*first == MS_NO_DOMAIN)
				*first = d;
			else if (d != *first)
				return true;
		}
		else if (rte->rtekind == RTE_SUBQUERY &&
				 ms_may_cross_walk(rte->subquery, first, NULL))
			return true;
	}
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query) &&
			ms_may_cross_walk((Query *) cte->ctequery, first, NULL))
			return true;
	}
	return false;
}

/*
 * Does the transaction not have written domain d yet?
 */
static inline bool
ms_xact_new_domain(MsDomainId d)
{
	int			i;

	if (d == MS_NO_DOMAIN)
		return false;
	for (i = 0; i < xact_ndomains; i++)
		if (xact_domains[i] == d)
			return false;
	return true;
}

/*
 * Will this freshly analyzed statement write a domain that the current
 * transaction has not written yet?  Such a statement may become one of the
 * writers of a cross-domain transaction (cross_domain_transactions), which
 * are named by query id: ms_post_parse_analyze computes the id for these
 * even when nothing else asks for query ids.  One domain lookup per target
 * table; a statement writing a domain already written by the transaction,
 * or no owned table, needs no id.  Data-modifying CTEs are seen through the
 * CTE list.  ms_query_may_cross answers this from its own walk when it can.
 */
static bool
ms_query_writes_new_domain(Query *query)
{
	ListCell   *lc;

	if ((query->commandType == CMD_INSERT || query->commandType == CMD_UPDATE ||
		 query->commandType == CMD_DELETE || query->commandType == CMD_MERGE) &&
		query->resultRelation > 0)
	{
		RangeTblEntry *rte = rt_fetch(query->resultRelation, query->rtable);

		if (rte->rtekind == RTE_RELATION &&
			ms_xact_new_domain(ms_domain_of(rte->relid)))
			return true;
	}
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query) &&
			ms_query_writes_new_domain((Query *) cte->ctequery))
			return true;
	}
	return false;
}

/*
 * The parse-time questions about a statement (ms_post_parse_analyze), in
 * one walk of its range table: might it cross domains (the result), and
 * will it write a domain its transaction has not written yet
 * (*writes_new)?  When the walk stopped early or the statement has CTEs,
 * the second question gets its own walk.
 */
bool
ms_query_may_cross(Query *query, bool *writes_new)
{
	MsDomainId	first = MS_NO_DOMAIN;
	MsDomainId	target = MS_NO_DOMAIN;
	bool		cross;

	*writes_new = false;
	if (query->commandType == CMD_UTILITY)
		return false;
	cross = ms_may_cross_walk(query, &first, &target);
	if (cross || query->cteList != NIL)
		*writes_new = ms_query_writes_new_domain(query);
	else if (query->commandType != CMD_SELECT && query->resultRelation > 0)
		*writes_new = ms_xact_new_domain(target);
	return cross;
}

/*
 * Is this statement a foreign-key check or cascade of ri_triggers.c?
 *
 * The security context alone does not tell: the statements of the
 * BEFORE triggers of a cascaded row, and of the functions they call, run
 * in the cascade's context too, and are written by whoever created the
 * trigger.  A query of ri_triggers.c is also started by SPI with
 * EXEC_FLAG_SKIP_TRIGGERS (SPI_execute_snapshot() with fire_triggers
 * false, which no procedural language uses) and sends its rows to SPI; the
 * lazily evaluated SELECT of an SQL function, the other statement started
 * with that flag, sends its rows to the function.
 */
static bool
ms_is_foreign_key_query(QueryDesc *queryDesc, int eflags)
{
	ListCell   *lc;

	if (!InNoForceRLSOperation() ||
		(eflags & EXEC_FLAG_SKIP_TRIGGERS) == 0 ||
		queryDesc->dest == NULL || queryDesc->dest->mydest != DestSPI)
		return false;

	/*
	 * A cascade (DELETE or UPDATE of the referencing table) goes through
	 * the rewriter, so that a DO INSTEAD rule of whoever owns that table can
	 * turn it into any statement, which keeps the flag and the destination.
	 * A rewritten statement has the table of the rule in its range table:
	 * a cascade that reaches a table with rules is checked like any other
	 * statement (stricter, never looser).  Checks (SELECT) are never
	 * rewritten.
	 */
	if (queryDesc->plannedstmt->commandType != CMD_SELECT)
	{
		foreach(lc, queryDesc->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
			HeapTuple	tup;
			bool		hasrules;

			if (rte->rtekind != RTE_RELATION)
				continue;
			tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rte->relid));
			if (!HeapTupleIsValid(tup))
				continue;
			hasrules = ((Form_pg_class) GETSTRUCT(tup))->relhasrules;
			ReleaseSysCache(tup);
			if (hasrules)
				return false;
		}
	}
	return true;
}

/*
 * Classify the statement's relations; enforce, count the statement when it
 * crosses domains, and remember the domains it writes to.  eflags are
 * those ExecutorStart was called with.
 */
void
ms_track_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	MsDomainId	domains[MS_ENTRY_DOMAINS];
	int			ndomains = 0;
	MsDomainId	remote[MS_ENTRY_DOMAINS];
	int			nremote = 0;
	bool		tracked;
	bool		enforcing;
	const char *service;
	int			level;
	ListCell   *lc;

	if (ps->commandType == CMD_UTILITY ||
		ms_is_foreign_key_query(queryDesc, eflags))
		return;

	/*
	 * A parallel worker of a query runs a part of the leader's plan, which
	 * the leader has checked and counted; that part, and only it, sends its
	 * rows to a tuple queue.  Every other statement a worker runs (those of
	 * the parallel-safe functions a plan calls, of the index expressions of
	 * a parallel index build) is enforced like the leader's own, but counted
	 * nowhere: the leader counts its statement.
	 */
	if (IsParallelWorker())
	{
		if (queryDesc->dest != NULL && queryDesc->dest->mydest == DestTupleQueue)
			return;
		tracked = false;
	}
	else
		tracked = (ms_track == MS_TRACK_ALL ||
				   (ms_track == MS_TRACK_TOP && ms_nesting_level == 0));
	ms_service_effective(&service, &level);
	enforcing = (level != MS_ENFORCE_OFF && service[0] != '\0');
	if (!tracked && !enforcing &&
		(ps->resultRelations == NIL || IsParallelWorker()))
		return;

	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		MsDomainId	d;

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW)
			continue;
		d = ms_domain_of(rte->relid);
		if (d != MS_NO_DOMAIN)
		{
			(void) ms_add_domain(domains, &ndomains, d);
			if (unlikely(rte->relkind == RELKIND_FOREIGN_TABLE))
				(void) ms_add_domain(remote, &nremote, d);
		}
	}
	if (ndomains == 0)
		return;

	if (enforcing)
	{
		ms_enforce_check(ps->rtable, domains, ndomains, service, level);
		/* rows routed to partitions of another domain (monitor_enforce.c) */
		if (ps->resultRelations != NIL)
			ms_enforce_check_routing(ps, service, level);
	}
	if (IsParallelWorker())
		return;

	/*
	 * Domains written by this statement join the transaction's set; a
	 * statement of one domain the transaction has written already (the
	 * common case) can add none.
	 */
	if (ps->resultRelations != NIL &&
		(ndomains > 1 || ms_xact_new_domain(domains[0])))
	{
		bool		added = false;

		foreach(lc, ps->resultRelations)
		{
			RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);
			MsDomainId	d = ms_domain_of(rte->relid);

			if (ms_xact_new_domain(d) && xact_ndomains < MS_ENTRY_DOMAINS)
			{
				xact_domains[xact_ndomains++] = d;
				added = true;
			}
		}
		/* only a statement that wrote a domain first names a writer */
		if (added && xact_nsamples < MS_XACT_SAMPLES && ps->queryId != UINT64CONST(0))
			ms_remember_writer(queryDesc);
	}

	if (tracked && (ndomains >= 2 || nremote > 0) && ps->queryId != UINT64CONST(0))
		ms_record_statement(queryDesc, domains, ndomains, remote, nremote);
}

/*
 * Count a cross-domain statement, or a remote call (a statement that reads
 * the read path of a domain), creating its entry on first sight.
 */
static void
ms_record_statement(QueryDesc *queryDesc, const MsDomainId *domains, int ndomains,
					const MsDomainId *remote, int nremote)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	MsDomainSet set;
	MsDomainSet rset;
	char	   *tables;
	Oid			relids[MS_ENTRY_TABLES];
	char	   *text;
	int			loc = ps->stmt_location;
	int			len = ps->stmt_len;
	const char *src = queryDesc->sourceText ? queryDesc->sourceText : "";

	ms_to_shared_set(domains, ndomains, &set);
	ms_to_shared_set(remote, nremote, &rset);
	if (set.count < 2 && rset.count == 0)
		return;
	if (rset.count > 0)
		ms_time_remote_call(queryDesc, &set, &rset);
	if (ms_stats_count_query(ps->queryId, &set, &rset))
		return;

	/* First sight: gather text and table names outside any lock. */
	if (loc < 0 || loc > strlen(src))
	{
		loc = 0;
		len = strlen(src);
	}
	else if (len <= 0 || loc + len > strlen(src))
		len = strlen(src) - loc;

	if (stash_queryid == ps->queryId && stash_source == queryDesc->sourceText)
		text = ms_normalize_query(src, loc, &len, stash_locs, stash_nlocs,
								  stash_first_param);
	else
		text = pnstrdup(src + loc, len);
	tables = ms_table_list(ps->rtable, relids);

	ms_stats_create_query(ps->queryId, ps->commandType, &set, &rset, tables,
						  relids, text);
	pfree(text);
	pfree(tables);
}

/*
 * Have the executor time a remote call (pg_stat_statements' way: an
 * Instrumentation for the whole query, allocated in the query's memory if
 * nobody did), and remember the statement until ms_track_executor_end
 * adds its rows and time to the entry.  A statement that fails never gets
 * there: transaction and subtransaction aborts forget it.
 */
static void
ms_time_remote_call(QueryDesc *queryDesc, const MsDomainSet *domains,
					const MsDomainSet *remote)
{
	MsRemotePending *p;

	if (ms_remote_npending >= MS_REMOTE_PENDING)
		return;
	if (queryDesc->totaltime == NULL)
	{
		MemoryContext oldcxt;

		oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
		queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(oldcxt);
	}
	p = &remote_pending[ms_remote_npending++];
	p->queryDesc = queryDesc;
	p->queryid = queryDesc->plannedstmt->queryId;
	p->userid = GetUserId();
	p->domains = *domains;
	p->remote = *remote;
	p->subid = GetCurrentSubTransactionId();
}

/*
 * ExecutorEnd of a statement: when it is a remote call being timed, add
 * its rows (es_processed) and time to its entry.
 */
void
ms_track_executor_end(QueryDesc *queryDesc)
{
	int			i;

	for (i = ms_remote_npending - 1; i >= 0; i--)
	{
		MsRemotePending *p = &remote_pending[i];

		if (p->queryDesc != queryDesc)
			continue;
		if (queryDesc->totaltime != NULL)
		{
			InstrEndLoop(queryDesc->totaltime);
			ms_stats_add_remote_call(p->queryid, p->userid, &p->domains,
									 &p->remote,
									 queryDesc->estate->es_processed,
									 queryDesc->totaltime->total * 1000.0);
		}
		remote_pending[i] = remote_pending[--ms_remote_npending];
		return;
	}
}

/*
 * Keep the text of a statement that wrote a domain first in this
 * transaction (a reference to its template or one copy, no normalization:
 * see MsPendingSample).
 */
static void
ms_remember_writer(QueryDesc *queryDesc)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	const char *src = queryDesc->sourceText ? queryDesc->sourceText : "";
	const char *text;
	int			loc;
	int			len;
	MsPendingSample *sample;
	int			i;

	for (i = 0; i < xact_nsamples; i++)
		if (xact_samples[i].queryid == ps->queryId)
			return;

	sample = &xact_samples[xact_nsamples++];
	sample->queryid = ps->queryId;
	sample->userid = GetUserId();
	/* the id came from a template that still holds the text: refer to it */
	if (tmpl_stash_queryid == ps->queryId &&
		tmpl_stash_source == queryDesc->sourceText &&
		ms_templates[tmpl_stash_index].serial == tmpl_stash_serial)
	{
		sample->tmpl = tmpl_stash_index;
		sample->len = 0;
		sample->nlocs = -1;
		return;
	}

	ms_statement_text(src, ps->stmt_location, ps->stmt_len, &text, &len);
	loc = text - src;
	ms_sample_copy_text(sample, text, len);
	if (stash_queryid == ps->queryId && stash_source == queryDesc->sourceText)
	{
		int			n = 0;

		for (i = 0; i < stash_nlocs && n < MS_XACT_LOCS; i++)
		{
			int			rel = stash_locs[i].location - loc;

			if (rel < 0 || rel >= sample->len)
				continue;
			sample->locs[n] = stash_locs[i];
			sample->locs[n].location = rel;
			n++;
		}
		sample->nlocs = n;
		sample->first_param = stash_first_param;
	}
}

/*
 * Count the committing transaction, which wrote two domains or more, with
 * the statements that wrote them; texts are normalized here, and only for
 * the statements the shared entry does not hold yet.
 */
static void
ms_count_crossing_xact(void)
{
	MsDomainSet set;
	MsXactSample samples[MS_XACT_SAMPLES];
	uint64		queryids[MS_XACT_SAMPLES];
	bool		missing[MS_XACT_SAMPLES];
	bool		counted;
	int			n = 0;
	int			i;

	ms_to_shared_set(xact_domains, xact_ndomains, &set);
	if (set.count < 2)
		return;

	for (i = 0; i < xact_nsamples; i++)
		queryids[i] = xact_samples[i].queryid;
	counted = ms_stats_xact_count_known(&set, queryids, xact_nsamples, missing);
	for (i = 0; i < xact_nsamples; i++)
		if (missing[i])
			break;
	if (counted && i == xact_nsamples)
		return;
	for (i = 0; i < xact_nsamples; i++)
	{
		MsPendingSample *p = &xact_samples[i];
		MsXactSample *s;
		char	   *text;
		const char *dollar;
		int			len;

		if (!missing[i])
			continue;
		if (p->tmpl >= 0)
			ms_sample_copy_text(p, ms_templates[p->tmpl].text,
								ms_templates[p->tmpl].len);
		len = p->len;
		s = &samples[n++];
		s->queryid = p->queryid;
		s->userid = p->userid;
		/* without the jumble's constant locations, the scanner finds them */
		if (p->nlocs < 0)
		{
			p->nlocs = ms_scan_literal_locs(p->raw, p->locs, MS_XACT_LOCS);
			p->first_param = 0;
			for (dollar = strchr(p->raw, '$'); dollar != NULL;
				 dollar = strchr(dollar + 1, '$'))
				if (isdigit((unsigned char) dollar[1]))
					p->first_param = Max(p->first_param, atoi(dollar + 1));
		}
		text = ms_normalize_query(p->raw, 0, &len, p->locs, p->nlocs,
								  p->first_param);
		len = pg_mbcliplen(text, len, MS_XACT_TEXT_LEN - 1);
		memcpy(s->text, text, len);
		s->text[len] = '\0';
		pfree(text);
	}
	ms_stats_count_xact(&set, samples, n, !counted);
}

/* Sorted set of shared indexes of local domain ids. */
static void
ms_to_shared_set(const MsDomainId *local, int n, MsDomainSet *set)
{
	int			i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < n; i++)
	{
		uint16		id = ms_shared_domain(local[i]);
		int			j;

		if (id == 0)
			continue;
		/* insertion sort, the set is tiny */
		for (j = set->count; j > 0 && set->ids[j - 1] > id; j--)
			set->ids[j] = set->ids[j - 1];
		set->ids[j] = id;
		set->count++;
	}
}

/*
 * Qualified names of the owned tables of a range table (partitions shown
 * as their tagged root), NUL-separated and ending with an empty string;
 * the oids of the first MS_ENTRY_TABLES of them in relids, in the same
 * order (InvalidOid after the last).
 */
static char *
ms_table_list(List *rtable, Oid *relids)
{
	StringInfoData buf;
	Oid			seen[64];
	int			nseen = 0;
	int			nlisted = 0;
	ListCell   *lc;

	memset(relids, 0, sizeof(Oid) * MS_ENTRY_TABLES);
	initStringInfo(&buf);
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Oid			root;
		char	   *relname;
		int			i;

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW)
			continue;
		root = ms_relation_owning_root(rte->relid);
		if (!OidIsValid(root))
			continue;
		for (i = 0; i < nseen; i++)
			if (seen[i] == root)
				break;
		if (i < nseen || nseen >= lengthof(seen))
			continue;
		seen[nseen++] = root;
		relname = get_rel_name(root);
		if (relname == NULL)
			continue;
		appendStringInfoString(&buf,
							   quote_qualified_identifier(get_namespace_name(get_rel_namespace(root)),
														  relname));
		appendStringInfoChar(&buf, '\0');
		if (nlisted < MS_ENTRY_TABLES)
			relids[nlisted++] = root;
	}
	appendStringInfoChar(&buf, '\0');
	return buf.data;
}

/*
 * Transaction end: count a transaction that wrote to two or more domains,
 * forget everything otherwise.  The count is taken just before commit (or
 * PREPARE TRANSACTION), where an error would still abort the transaction
 * cleanly rather than after the commit record, where it could not; a
 * transaction that fails in the last steps of commit (a serialization
 * failure at commit) is therefore still counted.  Every end also resets
 * the nesting depth (see ms_nesting_level in monitor.c).
 */
static void
ms_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (xact_ndomains >= 2 && ms_stats_available() &&
				ms_track != MS_TRACK_NONE)
				ms_count_crossing_xact();
			/* after the count: it follows a domain renamed here too */
			ms_stats_apply_domain_changes();
			xact_ndomains = 0;
			xact_nsamples = 0;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
			xact_ndomains = 0;
			xact_nsamples = 0;
			ms_remote_npending = 0;
			ms_stats_domain_changes_reset();
			ms_reset_nesting_level();
			break;
		default:
			break;
	}
}

/*
 * Subtransaction start and abort: remember, and return to, the sizes of
 * the transaction's write sets and the nesting depth.
 */
static void
ms_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			if (level >= sub_saves_len)
			{
				int			newlen = Max(16, level * 2);

				if (sub_saves == NULL)
					sub_saves = MemoryContextAlloc(TopMemoryContext,
												   sizeof(MsSubSave) * newlen);
				else
					sub_saves = repalloc(sub_saves, sizeof(MsSubSave) * newlen);
				sub_saves_len = newlen;
			}
			sub_saves[level].ndomains = xact_ndomains;
			sub_saves[level].nsamples = xact_nsamples;
			sub_saves[level].nesting_level = ms_nesting_level;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			ms_stats_domain_changes_subabort(mySubid);
			if (level < sub_saves_len)
			{
				xact_ndomains = Min(xact_ndomains, sub_saves[level].ndomains);
				xact_nsamples = Min(xact_nsamples, sub_saves[level].nsamples);
				/* executor frames an error left (see monitor.c) */
				ms_nesting_level = sub_saves[level].nesting_level;
			}
			/* remote calls of the aborted subtransaction never end */
			{
				int			i = 0;

				while (i < ms_remote_npending)
				{
					if (remote_pending[i].subid >= mySubid)
						remote_pending[i] = remote_pending[--ms_remote_npending];
					else
						i++;
				}
			}
			break;
		default:
			break;
	}
}

static int
ms_loc_cmp(const void *a, const void *b)
{
	int			l = ((const LocationLen *) a)->location;
	int			r = ((const LocationLen *) b)->location;

	return (l < r) ? -1 : (l > r) ? 1 : 0;
}

/*
 * Replace the constants at the given locations of query (the statement
 * starting at query_loc, *query_len bytes) by $n parameters numbered after
 * first_param.  Each constant's extent is the token at its location (plus
 * the number after a leading minus sign), found with the core scanner.
 * Returns a palloc'd string and sets *query_len to its length.
 */
char *
ms_normalize_query(const char *query, int query_loc, int *query_len,
				   const LocationLen *locs, int nlocs, int first_param)
{
	char	   *stmt = pnstrdup(query + query_loc, *query_len);
	int			len = strlen(stmt);
	LocationLen *sorted;
	StringInfoData out;
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			next = 0;
	int			copied = 0;
	int			param = first_param;

	initStringInfo(&out);
	sorted = palloc(sizeof(LocationLen) * Max(nlocs, 1));
	memcpy(sorted, locs, sizeof(LocationLen) * nlocs);
	qsort(sorted, nlocs, sizeof(LocationLen), ms_loc_cmp);

	yyscanner = scanner_init(stmt, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* Standard-conforming strings matter only for backslashes; be safe. */
	yyextra.escape_string_warning = false;

	while (next < nlocs)
	{
		int			tok;
		int			start;
		int			end;

		/* Locations outside this statement belong to other statements. */
		if (sorted[next].location - query_loc < 0)
		{
			next++;
			continue;
		}
		tok = core_yylex(&yylval, &yylloc, yyscanner);
		if (tok == 0)
			break;
		if (yylloc < sorted[next].location - query_loc)
			continue;
		if (yylloc > sorted[next].location - query_loc)
		{
			/* not a token start; drop the location */
			next++;
			continue;
		}

		start = yylloc;
		if (tok == '-')
		{
			/* a negative number: its text spans the sign and the number */
			tok = core_yylex(&yylval, &yylloc, yyscanner);
			if (tok == 0)
				break;
		}
		end = yylloc + strlen(yyextra.scanbuf + yylloc);

		appendBinaryStringInfo(&out, stmt + copied, start - copied);
		appendStringInfo(&out, "$%d", ++param);
		copied = end;

		/* skip duplicates of this location */
		while (next < nlocs && sorted[next].location - query_loc <= start)
			next++;
	}
	scanner_finish(yyscanner);

	appendBinaryStringInfo(&out, stmt + copied, len - copied);
	pfree(stmt);
	pfree(sorted);
	*query_len = out.len;
	return out.data;
}
