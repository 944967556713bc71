/*-------------------------------------------------------------------------
 *
 * report_graph.c
 *		The text of the table-level boundary graph
 *		(migration_split.boundary_graph(level => 'table')): its nodes and
 *		edges, found in SQL by report_table_graph(), sorted and written out
 *		as Graphviz DOT or a Mermaid flowchart.
 *
 * SQL used to do this part too, with a window function to number the
 * edges, an ordered array_agg() per column (PostgreSQL 15 sorts once per
 * ordered aggregate) and ordered string_agg() calls over joins of the
 * unnested arrays: about half of the graph's time on 10,000 tables.  Here
 * it is two qsort() calls and one pass over each array.  The output is the
 * one the SQL gave, byte for byte: nodes ordered by domain (unowned last)
 * and name, edges by style, source name, target name and label, all in
 * byte order (COLLATE "C"); the same escapes.
 *
 * Everything is allocated in the caller's memory context and freed with
 * it; no catalog is read, no lock taken.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "migration_split.h"

PG_FUNCTION_INFO_V1(ms_report_table_graph_text);

/* One node: a table or view, and its place in the sorted order. */
typedef struct GraphNode
{
	Oid			rel;
	const char *domain;			/* NULL: unowned */
	char		kind;			/* relkind, '\0' if unknown */
	const char *name;
	int			ord;			/* 1-based position once sorted */
} GraphNode;

/* One edge; src and dst point into the node array. */
typedef struct GraphEdge
{
	GraphNode  *src;
	GraphNode  *dst;
	const char *style;			/* "fk", "cross fk" or "dependency" */
	const char *label;
} GraphEdge;

/* Node oid -> node, to find the ends of the edges. */
typedef struct NodeLookup
{
	Oid			rel;
	GraphNode  *node;
} NodeLookup;

/* Compare two possibly NULL strings in byte order, NULL last. */
static int
cmp_nullable(const char *a, const char *b)
{
	if (a == NULL)
		return b == NULL ? 0 : 1;
	if (b == NULL)
		return -1;
	return strcmp(a, b);
}

/* Node order: domain, then name (ORDER BY domain, name, both COLLATE "C"). */
static int
node_cmp(const void *a, const void *b)
{
	const GraphNode *x = (const GraphNode *) a;
	const GraphNode *y = (const GraphNode *) b;
	int			c = cmp_nullable(x->domain, y->domain);

	return c != 0 ? c : cmp_nullable(x->name, y->name);
}

/* Edge order: style, source name, target name, label (COLLATE "C"). */
static int
edge_cmp(const void *a, const void *b)
{
	const GraphEdge *x = (const GraphEdge *) a;
	const GraphEdge *y = (const GraphEdge *) b;
	int			c;

	if ((c = cmp_nullable(x->style, y->style)) != 0)
		return c;
	if ((c = cmp_nullable(x->src->name, y->src->name)) != 0)
		return c;
	if ((c = cmp_nullable(x->dst->name, y->dst->name)) != 0)
		return c;
	return cmp_nullable(x->label, y->label);
}

/*
 * Deconstruct a one-dimensional array argument (NULL: empty) into its
 * elements; returns the count, which must equal expected when that is >= 0.
 */
static int
array_arg(FunctionCallInfo fcinfo, int argno, Oid elemtype, int elemlen,
		  bool elembyval, char elemalign, Datum **values, bool **nulls,
		  int expected)
{
	ArrayType  *arr;
	int			n;

	if (PG_ARGISNULL(argno))
	{
		*values = NULL;
		*nulls = NULL;
		n = 0;
	}
	else
	{
		arr = PG_GETARG_ARRAYTYPE_P(argno);
		if (ARR_NDIM(arr) > 1 || ARR_ELEMTYPE(arr) != elemtype)
			elog(ERROR, "argument %d of report_table_graph_text is not a one-dimensional array of the expected type",
				 argno + 1);
		deconstruct_array(arr, elemtype, elemlen, elembyval, elemalign,
						  values, nulls, &n);
	}
	if (expected >= 0 && n != expected)
		elog(ERROR, "arrays of report_table_graph_text differ in length");
	return n;
}

/* The text of element i of a text array, or NULL. */
static const char *
text_elem(Datum *values, bool *nulls, int i)
{
	return nulls[i] ? NULL : TextDatumGetCString(values[i]);
}

/* DOT quoted ID body: backslash and double quote escaped, newline as \n. */
static void
append_dot_escaped(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\')
			appendStringInfoString(buf, "\\\\");
		else if (*s == '"')
			appendStringInfoString(buf, "\\\"");
		else if (*s == '\n')
			appendStringInfoString(buf, "\\n");
		else
			appendStringInfoChar(buf, *s);
	}
}

/*
 * Mermaid label text: #, ", <, >, \ and ` as entities (Mermaid reads a
 * label that starts with ` as Markdown, and \n in one as a line break),
 * CR and LF as a space.
 */
static void
append_mermaid_escaped(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '#':
				appendStringInfoString(buf, "#35;");
				break;
			case '"':
				appendStringInfoString(buf, "#quot;");
				break;
			case '<':
				appendStringInfoString(buf, "#lt;");
				break;
			case '>':
				appendStringInfoString(buf, "#gt;");
				break;
			case '\\':
				appendStringInfoString(buf, "#92;");
				break;
			case '`':
				appendStringInfoString(buf, "#96;");
				break;
			case '\n':
			case '\r':
				appendStringInfoChar(buf, ' ');
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

static bool
is_view_kind(char kind)
{
	return kind == RELKIND_VIEW || kind == RELKIND_MATVIEW;
}

/* A DOT node statement: "\t<indent>"id" attrs;\n". */
static void
append_dot_node(StringInfo buf, const char *indent, const GraphNode *n)
{
	appendStringInfo(buf, "%s\"", indent);
	append_dot_escaped(buf, n->name);
	appendStringInfoChar(buf, '"');
	if (is_view_kind(n->kind) && n->domain == NULL)
		appendStringInfoString(buf, " [shape=ellipse, style=dashed]");
	else if (is_view_kind(n->kind))
		appendStringInfoString(buf, " [shape=ellipse]");
	else if (n->domain == NULL)
		appendStringInfoString(buf, " [style=\"rounded,dashed\"]");
	appendStringInfoString(buf, ";\n");
}

/* A Mermaid node declaration: indent, id, shape with quoted label. */
static void
append_mermaid_node(StringInfo buf, const char *indent, const GraphNode *n)
{
	bool		view = is_view_kind(n->kind);

	appendStringInfo(buf, "%sn%d%s\"", indent, n->ord, view ? "([" : "[");
	append_mermaid_escaped(buf, n->name);
	appendStringInfo(buf, "\"%s\n", view ? "])" : "]");
}

static void
write_dot(StringInfo buf, GraphNode *nodes, int nnodes,
		  GraphEdge *edges, int nedges)
{
	int			i;

	appendStringInfoString(buf,
						   "digraph migration_split {\n"
						   "\tgraph [newrank=true, rankdir=LR, fontname=\"Helvetica\"];\n"
						   "\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
						   "\tedge [color=\"#9e9e9e\", fontname=\"Helvetica\", fontsize=9];\n");
	/* clusters: the nodes are sorted by domain, so each is a run */
	for (i = 0; i < nnodes && nodes[i].domain != NULL;)
	{
		const char *domain = nodes[i].domain;

		appendStringInfo(buf, "\tsubgraph \"cluster_%s\" {\n\t\tlabel=\"%s\";\n",
						 domain, domain);
		for (; i < nnodes && nodes[i].domain != NULL &&
			 strcmp(nodes[i].domain, domain) == 0; i++)
			append_dot_node(buf, "\t\t", &nodes[i]);
		appendStringInfoString(buf, "\t}\n");
	}
	for (; i < nnodes; i++)
		append_dot_node(buf, "\t", &nodes[i]);
	for (i = 0; i < nedges; i++)
	{
		GraphEdge  *e = &edges[i];

		appendStringInfoString(buf, "\t\"");
		append_dot_escaped(buf, e->src->name);
		appendStringInfoString(buf, "\" -> \"");
		append_dot_escaped(buf, e->dst->name);
		appendStringInfoChar(buf, '"');
		if (strcmp(e->style, "fk") != 0)
		{
			if (strcmp(e->style, "cross fk") == 0)
				appendStringInfoString(buf, " [color=\"#d62728\", penwidth=2, label=\"");
			else
				appendStringInfoString(buf, " [color=\"#ff7f0e\", style=dashed, label=\"");
			append_dot_escaped(buf, e->label);
			appendStringInfoString(buf, "\"]");
		}
		appendStringInfoString(buf, ";\n");
	}
	appendStringInfoString(buf, "}\n");
}

static void
write_mermaid(StringInfo buf, GraphNode *nodes, int nnodes,
			  GraphEdge *edges, int nedges)
{
	StringInfoData cross_fks;
	StringInfoData dependencies;
	int			i;
	int			first_loose;

	initStringInfo(&cross_fks);
	initStringInfo(&dependencies);
	appendStringInfoString(buf, "flowchart LR\n");
	for (i = 0; i < nnodes && nodes[i].domain != NULL;)
	{
		const char *domain = nodes[i].domain;

		appendStringInfo(buf, "    subgraph d_%s [\"%s\"]\n", domain, domain);
		for (; i < nnodes && nodes[i].domain != NULL &&
			 strcmp(nodes[i].domain, domain) == 0; i++)
			append_mermaid_node(buf, "        ", &nodes[i]);
		appendStringInfoString(buf, "    end\n");
	}
	first_loose = i;
	for (; i < nnodes; i++)
		append_mermaid_node(buf, "    ", &nodes[i]);
	for (i = 0; i < nedges; i++)
	{
		GraphEdge  *e = &edges[i];
		StringInfo	list = NULL;

		appendStringInfo(buf, "    n%d", e->src->ord);
		if (strcmp(e->style, "fk") == 0)
			appendStringInfoString(buf, " --> ");
		else
		{
			if (strcmp(e->style, "cross fk") == 0)
			{
				appendStringInfoString(buf, " ==>|\"");
				list = &cross_fks;
			}
			else
			{
				appendStringInfoString(buf, " -.->|\"");
				if (strcmp(e->style, "dependency") == 0)
					list = &dependencies;
			}
			append_mermaid_escaped(buf, e->label);
			appendStringInfoString(buf, "\"| ");
		}
		appendStringInfo(buf, "n%d\n", e->dst->ord);
		if (list != NULL)
			appendStringInfo(list, "%s%d", list->len > 0 ? "," : "", i);
	}
	if (cross_fks.len > 0)
		appendStringInfo(buf, "    linkStyle %s stroke:#d62728,stroke-width:2px\n",
						 cross_fks.data);
	if (dependencies.len > 0)
		appendStringInfo(buf, "    linkStyle %s stroke:#ff7f0e\n",
						 dependencies.data);
	if (first_loose < nnodes)
	{
		appendStringInfoString(buf, "    classDef unowned stroke-dasharray:5 5\n    class ");
		for (i = first_loose; i < nnodes; i++)
			appendStringInfo(buf, "%sn%d", i > first_loose ? "," : "", nodes[i].ord);
		appendStringInfoString(buf, " unowned\n");
	}
}

/*
 * About the size of the graph's text (names and labels as they are, with
 * room for each line's syntax), at most 256 MB: what the text buffer is
 * given before it is written.
 */
static int
text_size_estimate(GraphNode *nodes, int nnodes, GraphEdge *edges, int nedges)
{
	double		size = 4096;
	int			i;

	for (i = 0; i < nnodes; i++)
		size += 48 + strlen(nodes[i].name) +
			(nodes[i].domain != NULL ? strlen(nodes[i].domain) : 0);
	for (i = 0; i < nedges; i++)
		size += 48 + strlen(edges[i].src->name) + strlen(edges[i].dst->name) +
			(edges[i].label != NULL ? strlen(edges[i].label) : 0);
	return (int) Min(size, 256.0 * 1024 * 1024);
}

/*
 * report_table_graph_text(fmt text, n_rel oid[], n_domain text[],
 *						   n_kind "char"[], n_name text[], e_src oid[],
 *						   e_dst oid[], e_style text[], e_label text[])
 *		RETURNS text
 *
 * The table-level graph from its nodes (relation, domain or NULL, relkind,
 * name as regclass prints it) and edges (source and target relations, each
 * a node, style "fk", "cross fk" or "dependency", label), in any order, as
 * DOT (fmt 'dot') or Mermaid (anything else).  Internal to
 * report_table_graph(), which checks the arguments.  An edge whose end is
 * no node, or with a NULL style or (but for "fk") label, is left out, as
 * the SQL's joins and NULL concatenation left it out.
 */
Datum
ms_report_table_graph_text(PG_FUNCTION_ARGS)
{
	char	   *fmt;
	Datum	   *v_rel,
			   *v_domain,
			   *v_kind,
			   *v_name,
			   *v_src,
			   *v_dst,
			   *v_style,
			   *v_label;
	bool	   *z_rel,
			   *z_domain,
			   *z_kind,
			   *z_name,
			   *z_src,
			   *z_dst,
			   *z_style,
			   *z_label;
	int			nnodes;
	int			nedges;
	int			nkept = 0;
	GraphNode  *nodes;
	GraphEdge  *edges;
	HTAB	   *lookup;
	HASHCTL		ctl;
	StringInfoData buf;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fmt = text_to_cstring(PG_GETARG_TEXT_PP(0));

	nnodes = array_arg(fcinfo, 1, OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					   &v_rel, &z_rel, -1);
	array_arg(fcinfo, 2, TEXTOID, -1, false, TYPALIGN_INT,
			  &v_domain, &z_domain, nnodes);
	array_arg(fcinfo, 3, CHAROID, 1, true, TYPALIGN_CHAR,
			  &v_kind, &z_kind, nnodes);
	array_arg(fcinfo, 4, TEXTOID, -1, false, TYPALIGN_INT,
			  &v_name, &z_name, nnodes);
	nedges = array_arg(fcinfo, 5, OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					   &v_src, &z_src, -1);
	array_arg(fcinfo, 6, OIDOID, sizeof(Oid), true, TYPALIGN_INT,
			  &v_dst, &z_dst, nedges);
	array_arg(fcinfo, 7, TEXTOID, -1, false, TYPALIGN_INT,
			  &v_style, &z_style, nedges);
	array_arg(fcinfo, 8, TEXTOID, -1, false, TYPALIGN_INT,
			  &v_label, &z_label, nedges);

	nodes = palloc0(sizeof(GraphNode) * Max(nnodes, 1));
	for (i = 0; i < nnodes; i++)
	{
		nodes[i].rel = z_rel[i] ? InvalidOid : DatumGetObjectId(v_rel[i]);
		nodes[i].domain = text_elem(v_domain, z_domain, i);
		nodes[i].kind = z_kind[i] ? '\0' : DatumGetChar(v_kind[i]);
		nodes[i].name = text_elem(v_name, z_name, i);
		if (nodes[i].name == NULL)
			elog(ERROR, "node of report_table_graph_text without a name");
	}
	qsort(nodes, nnodes, sizeof(GraphNode), node_cmp);

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(NodeLookup);
	ctl.hcxt = CurrentMemoryContext;
	lookup = hash_create("migration_split graph nodes", Max(nnodes, 16), &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < nnodes; i++)
	{
		NodeLookup *l;
		bool		found;

		nodes[i].ord = i + 1;
		l = hash_search(lookup, &nodes[i].rel, HASH_ENTER, &found);
		if (!found)
			l->node = &nodes[i];
	}

	edges = palloc0(sizeof(GraphEdge) * Max(nedges, 1));
	for (i = 0; i < nedges; i++)
	{
		NodeLookup *s = z_src[i] ? NULL :
			hash_search(lookup, &v_src[i], HASH_FIND, NULL);
		NodeLookup *t = z_dst[i] ? NULL :
			hash_search(lookup, &v_dst[i], HASH_FIND, NULL);
		GraphEdge  *e = &edges[nkept];

		if (s == NULL || t == NULL || z_style[i])
			continue;
		e->src = s->node;
		e->dst = t->node;
		e->style = TextDatumGetCString(v_style[i]);
		e->label = text_elem(v_label, z_label, i);
		if (e->label == NULL && strcmp(e->style, "fk") != 0)
			continue;
		nkept++;
	}
	qsort(edges, nkept, sizeof(GraphEdge), edge_cmp);

	/*
	 * The text is written in place after a varlena header, into a buffer
	 * sized at once for about what it will hold: on 10,000 tables it is
	 * 1.6 MB, and growing it by doubling, then copying it into a text,
	 * filled three times that much fresh memory, whose page faults are
	 * much of what a new session pays for the graph.
	 */
	initStringInfo(&buf);
	enlargeStringInfo(&buf, text_size_estimate(nodes, nnodes, edges, nkept));
	buf.len = VARHDRSZ;
	if (strcmp(fmt, "dot") == 0)
		write_dot(&buf, nodes, nnodes, edges, nkept);
	else
		write_mermaid(&buf, nodes, nnodes, edges, nkept);

	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_TEXT_P((text *) buf.data);
}
