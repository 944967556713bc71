/*-------------------------------------------------------------------------
 *
 * report.c
 *		The "report" subcommand: the boundary report of a monolith as one
 *		self-contained HTML page, or as Markdown.
 *
 *	migration-split report --source S [--domain D] --html FILE [--markdown FILE]
 *
 * Everything comes from the source's migration_split views, read in one
 * REPEATABLE READ READ ONLY transaction so that the sections agree, with
 * client_encoding UTF8 (the page's charset):
 * domain_summary (one row per domain), domain_crossings (what ties two
 * domains, per kind), relation_domains (the domain's tables), and when
 * they exist the domain lifecycle (migration_split.domain_lifecycle), the
 * extraction plan (migration_split.extraction_plan(text, text)) and the
 * runtime monitor's statements (cross_domain_queries, when the library is
 * preloaded).  Nothing needs more than the extension's PUBLIC grants.
 *
 * The HTML page needs no network and runs no script: inline CSS, and the
 * graphs as inline SVG that this file lays out itself (domains on a
 * circle; a domain's own graph has it in the middle and its neighbours
 * around it), so Graphviz is not needed where the report is made or read.
 * The markup is also well-formed XML (XHTML syntax: void elements closed,
 * no named entities but &amp; &lt; &gt; &quot;), so strict XML parsers read
 * it.  Every value from the database (domain, table and query texts) goes
 * through html_escape() or md_escape(): they are user data.
 *
 * Memory: a short-lived client; the results live until the report is
 * written.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <math.h>

#include "common/logging.h"

#include "job.h"

/* statements listed in "Top runtime crossings" */
#define REPORT_TOP_QUERIES	20

/* node box of the SVG graphs */
#define NODE_W				170
#define NODE_H				44

/* One edge of a graph: the ties of one direction between two nodes. */
typedef struct ReportEdge
{
	int			from;			/* node index; ndomains = the unowned node */
	int			to;
	bool		directed;
	bool		has_fk;
	long long	weight;			/* objects over every kind */
	PQExpBufferData label;		/* one line per kind, '\n' separated */
} ReportEdge;

/* Everything the report shows, read before anything is written. */
typedef struct ReportData
{
	const char *only_domain;	/* --domain, or NULL */
	char	   *source_desc;	/* host, port, database: no password */
	char	   *database;
	char	   *generated_at;
	char	   *role;
	char	   *server_version;
	char	   *ext_version;
	bool		monitor_loaded;
	bool		has_lifecycle;
	bool		has_plan;
	PGresult   *summary;		/* domain_summary, in domain order */
	PGresult   *crossings;		/* domain_crossings */
	PGresult   *lifecycle;		/* domain, state, changed_at; or NULL */
	PGresult   *tables;			/* domain, table, estimated rows */
	PGresult   *top;			/* top runtime statements; or NULL */
	PGresult  **plans;			/* per domain of summary; or NULL */
	int			ndomains;
	int			nedges;
	ReportEdge *edges;
	char	   *mermaid;		/* boundary_graph('mermaid', 'domain', D) */
} ReportData;

/* ------------------------------------------------------------------------
 * Escaping
 * ------------------------------------------------------------------------ */

/*
 * Append text escaped for HTML/XML text and attribute values.  The text is
 * UTF-8 (client_encoding is pinned); of what PostgreSQL accepts there, the
 * control characters and U+FFFE, U+FFFF are no XML 1.0 characters: control
 * characters other than tab and newline become spaces, U+FFFE and U+FFFF
 * the replacement character U+FFFD, so that the page stays well-formed
 * whatever a name holds.
 */
static void
html_escape(PQExpBuffer out, const char *s)
{
	for (; s && *s; s++)
	{
		if ((unsigned char) s[0] == 0xEF && (unsigned char) s[1] == 0xBF &&
			((unsigned char) s[2] == 0xBE || (unsigned char) s[2] == 0xBF))
		{
			appendPQExpBufferStr(out, "\xEF\xBF\xBD");
			s += 2;
			continue;
		}
		switch (*s)
		{
			case '&':
				appendPQExpBufferStr(out, "&amp;");
				break;
			case '<':
				appendPQExpBufferStr(out, "&lt;");
				break;
			case '>':
				appendPQExpBufferStr(out, "&gt;");
				break;
			case '"':
				appendPQExpBufferStr(out, "&quot;");
				break;
			case '\'':
				appendPQExpBufferStr(out, "&#39;");
				break;
			default:
				/* control characters other than tab and newline are not XML */
				if ((unsigned char) *s < 0x20 && *s != '\t' && *s != '\n')
					appendPQExpBufferChar(out, ' ');
				else
					appendPQExpBufferChar(out, *s);
		}
	}
}

/*
 * Append text for a Markdown table cell: pipes and backslashes escaped,
 * HTML-significant characters as entities (Markdown renderers pass raw
 * HTML through), line breaks as spaces.
 */
static void
md_escape(PQExpBuffer out, const char *s)
{
	for (; s && *s; s++)
	{
		switch (*s)
		{
			case '|':
			case '\\':
			case '`':
			case '*':
			case '_':
			case '~':
			case '[':
			case ']':
				appendPQExpBufferChar(out, '\\');
				appendPQExpBufferChar(out, *s);
				break;
			case '<':
				appendPQExpBufferStr(out, "&lt;");
				break;
			case '>':
				appendPQExpBufferStr(out, "&gt;");
				break;
			case '&':
				appendPQExpBufferStr(out, "&amp;");
				break;
			case '\n':
			case '\r':
			case '\t':
				appendPQExpBufferChar(out, ' ');
				break;
			default:
				appendPQExpBufferChar(out, *s);
		}
	}
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

static const char *
getv(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Index of a domain in the summary, or -1 (NULL: the unowned end). */
static int
domain_index(const ReportData *rd, const char *domain)
{
	int			i;

	if (domain == NULL)
		return rd->ndomains;
	for (i = 0; i < rd->ndomains; i++)
		if (strcmp(PQgetvalue(rd->summary, i, 0), domain) == 0)
			return i;
	return -1;
}

/*
 * One label line for a row of domain_crossings, in the words of
 * boundary_graph(): "2 foreign keys", "1 view of both", "3 queries (10
 * calls)".
 */
static void
crossing_text(PQExpBuffer out, const char *kind, bool directed,
			  const char *objects, const char *calls)
{
	bool		one = strcmp(objects, "1") == 0;

	appendPQExpBuffer(out, "%s ", objects);
	if (strcmp(kind, "inheritance") == 0)
		appendPQExpBufferStr(out, one ? "inheritance child" : "inheritance children");
	else if (strcmp(kind, "query") == 0)
		appendPQExpBufferStr(out, one ? "query" : "queries");
	else
		appendPQExpBuffer(out, "%s%s", kind, one ? "" : "s");
	if (!directed && (strcmp(kind, "view") == 0 || strcmp(kind, "materialized view") == 0))
		appendPQExpBufferStr(out, " of both");
	if (calls)
		appendPQExpBuffer(out, " (%s call%s)", calls, strcmp(calls, "1") == 0 ? "" : "s");
}

/* Group the rows of domain_crossings into graph edges. */
static void
build_edges(ReportData *rd)
{
	int			n = PQntuples(rd->crossings);
	int			i;

	rd->edges = pg_malloc0(sizeof(ReportEdge) * (n + 1));
	rd->nedges = 0;
	for (i = 0; i < n; i++)
	{
		int			from = domain_index(rd, getv(rd->crossings, i, 0));
		int			to = domain_index(rd, getv(rd->crossings, i, 1));
		bool		directed = PQgetvalue(rd->crossings, i, 3)[0] == 't';
		ReportEdge *e = NULL;
		int			k;

		if (from < 0 || to < 0)
			continue;			/* a domain outside the summary (--domain) */
		for (k = 0; k < rd->nedges; k++)
			if (rd->edges[k].from == from && rd->edges[k].to == to &&
				rd->edges[k].directed == directed)
				e = &rd->edges[k];
		if (e == NULL)
		{
			e = &rd->edges[rd->nedges++];
			e->from = from;
			e->to = to;
			e->directed = directed;
			initPQExpBuffer(&e->label);
		}
		else
			appendPQExpBufferChar(&e->label, '\n');
		crossing_text(&e->label, PQgetvalue(rd->crossings, i, 2), directed,
					  PQgetvalue(rd->crossings, i, 4), getv(rd->crossings, i, 5));
		e->weight += atoll(PQgetvalue(rd->crossings, i, 4));
		if (strcmp(PQgetvalue(rd->crossings, i, 2), "foreign key") == 0)
			e->has_fk = true;
	}
}

/*
 * Read everything, in one snapshot.  With --domain the summary holds that
 * domain and its neighbours (so the graph can name them), the sections
 * only that domain.
 */
static void
read_report(PGconn *conn, ReportData *rd)
{
	PGresult   *res;
	const char *p1[1] = {rd->only_domain};
	const char *dparam = rd->only_domain;
	int			i;

	job_command(conn, "source", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

	res = job_query(conn, "source",
					"SELECT (SELECT e.extversion FROM pg_catalog.pg_extension e"
					"         WHERE e.extname = 'migration_split'),"
					" pg_catalog.current_database(), pg_catalog.to_char(pg_catalog.now(),"
					" 'YYYY-MM-DD HH24:MI:SS TZ'), CURRENT_USER,"
					" pg_catalog.current_setting('server_version')",
					0, NULL);
	if (PQgetisnull(res, 0, 0))
	{
		pg_log_error("extension migration_split is not installed in database \"%s\"",
					 PQgetvalue(res, 0, 1));
		pg_log_error_hint("Run CREATE EXTENSION migration_split on the source database first.");
		exit(EXIT_DOMAIN);
	}
	/* 1.0 has none of the views the report reads (domain_crossings, ...) */
	if (strcmp(PQgetvalue(res, 0, 0), "1.0") == 0)
	{
		pg_log_error("extension migration_split %s in database \"%s\" is too old for report",
					 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		pg_log_error_detail("The report reads views added in version 1.1.");
		pg_log_error_hint("Run ALTER EXTENSION migration_split UPDATE in the source database.");
		exit(EXIT_DOMAIN);
	}
	rd->ext_version = pg_strdup(PQgetvalue(res, 0, 0));
	rd->database = pg_strdup(PQgetvalue(res, 0, 1));
	rd->generated_at = pg_strdup(PQgetvalue(res, 0, 2));
	rd->role = pg_strdup(PQgetvalue(res, 0, 3));
	rd->server_version = pg_strdup(PQgetvalue(res, 0, 4));
	PQclear(res);

	if (rd->only_domain)
	{
		res = job_query(conn, "source",
						"SELECT FROM migration_split.domains WHERE domain = $1", 1, p1);
		if (PQntuples(res) == 0)
		{
			pg_log_error("domain \"%s\" does not exist", rd->only_domain);
			pg_log_error_hint("The domains are the rows of migration_split.domains.");
			exit(EXIT_DOMAIN);
		}
		PQclear(res);
	}

	res = job_query(conn, "source",
					"SELECT to_regclass('migration_split.domain_lifecycle') IS NOT NULL,"
					" to_regprocedure('migration_split.extraction_plan(text,text)') IS NOT NULL,"
					" migration_split.monitor_loaded()",
					0, NULL);
	rd->has_lifecycle = PQgetvalue(res, 0, 0)[0] == 't';
	rd->has_plan = PQgetvalue(res, 0, 1)[0] == 't';
	rd->monitor_loaded = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);

	rd->crossings = job_query(conn, "source",
							  "SELECT from_domain, to_domain, kind, directed, objects, calls"
							  " FROM migration_split.domain_crossings"
							  " WHERE $1::text IS NULL OR from_domain = $1 OR to_domain = $1",
							  1, &dparam);
	rd->summary = job_query(conn, "source",
							"SELECT domain, tables, total_size_pretty, estimated_rows,"
							" fks_out, fks_in, dependencies, crossing_queries, crossing_calls,"
							" crossing_transactions, last_violation, blockers, ready,"
							" d.description"
							" FROM migration_split.domain_summary s"
							" JOIN migration_split.domains d USING (domain)"
							" WHERE $1::text IS NULL OR domain = $1"
							"    OR domain IN (SELECT from_domain FROM migration_split.domain_crossings"
							"                   WHERE to_domain = $1"
							"                  UNION SELECT to_domain FROM migration_split.domain_crossings"
							"                   WHERE from_domain = $1)"
							" ORDER BY domain COLLATE \"C\"",
							1, &dparam);
	rd->ndomains = PQntuples(rd->summary);
	build_edges(rd);

	if (rd->has_lifecycle)
		rd->lifecycle = job_query(conn, "source",
								  "SELECT domain, state, changed_at FROM migration_split.domain_lifecycle",
								  0, NULL);

	rd->tables = job_query(conn, "source",
						   "SELECT r.domain, r.rel::text,"
						   " CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END"
						   " FROM migration_split.relation_domains r"
						   " JOIN pg_catalog.pg_class c ON c.oid = r.rel"
						   " WHERE c.relkind IN ('r', 'p', 'f') AND r.via IN ('tag', 'inheritance')"
						   "   AND ($1::text IS NULL OR r.domain = $1)"
						   " ORDER BY r.domain COLLATE \"C\", r.rel::text COLLATE \"C\"",
						   1, &dparam);

	if (rd->has_plan)
	{
		rd->plans = pg_malloc0(sizeof(PGresult *) * (rd->ndomains + 1));
		for (i = 0; i < rd->ndomains; i++)
		{
			const char *dp[1] = {PQgetvalue(rd->summary, i, 0)};

			if (rd->only_domain && strcmp(dp[0], rd->only_domain) != 0)
				continue;
			rd->plans[i] = job_query(conn, "source",
									 "SELECT step, kind, object, action, detail"
									 " FROM migration_split.extraction_plan($1, 'table')"
									 " ORDER BY step",
									 1, dp);
		}
	}

	/*
	 * Statement texts only where this role may read them: its own
	 * statements, or all with pg_read_all_stats (superusers have it).  The
	 * monitor's view hides other texts too; this does not rely on it.
	 */
	if (rd->monitor_loaded)
		rd->top = job_query(conn, "source",
							"SELECT q.domains::text, q.kind, q.calls, q.last_seen,"
							" q.application_name,"
							" CASE WHEN q.userid = (SELECT oid FROM pg_catalog.pg_roles"
							"                        WHERE rolname = CURRENT_USER)"
							"        OR pg_catalog.pg_has_role('pg_read_all_stats', 'MEMBER')"
							"      THEN q.query END,"
							" q.tables::text"
							" FROM migration_split.cross_domain_queries q"
							" WHERE q.dbid = (SELECT oid FROM pg_catalog.pg_database"
							"                  WHERE datname = pg_catalog.current_database())"
							"   AND ($1::text IS NULL OR $1 = ANY (q.domains))"
							" ORDER BY q.calls DESC, q.queryid LIMIT " CppAsString2(REPORT_TOP_QUERIES),
							1, &dparam);

	res = job_query(conn, "source",
					"SELECT migration_split.boundary_graph('mermaid', 'domain', $1)",
					1, &dparam);
	rd->mermaid = pg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);

	job_command(conn, "source", "COMMIT");
}

/* lifecycle state of a domain, or NULL */
static const char *
lifecycle_of(const ReportData *rd, const char *domain, const char **changed_at)
{
	int			i;

	*changed_at = NULL;
	if (rd->lifecycle == NULL)
		return NULL;
	for (i = 0; i < PQntuples(rd->lifecycle); i++)
		if (strcmp(PQgetvalue(rd->lifecycle, i, 0), domain) == 0)
		{
			*changed_at = getv(rd->lifecycle, i, 2);
			return getv(rd->lifecycle, i, 1);
		}
	return NULL;
}

/* whether the report has a section for domain i */
static bool
has_section(const ReportData *rd, int i)
{
	return rd->only_domain == NULL ||
		strcmp(PQgetvalue(rd->summary, i, 0), rd->only_domain) == 0;
}

/* ------------------------------------------------------------------------
 * SVG graphs
 * ------------------------------------------------------------------------ */

/* name of graph node i */
static const char *
node_name(const ReportData *rd, int i)
{
	return i == rd->ndomains ? "(unowned)" : PQgetvalue(rd->summary, i, 0);
}

/* where the segment from the box centre (x, y) towards (tx, ty) leaves the box */
static void
box_exit(double x, double y, double tx, double ty, double *ox, double *oy)
{
	double		dx = tx - x;
	double		dy = ty - y;
	double		t = 1.0;

	if (fabs(dx) > 1e-9)
		t = Min(t, (NODE_W / 2.0 + 4) / fabs(dx));
	if (fabs(dy) > 1e-9)
		t = Min(t, (NODE_H / 2.0 + 4) / fabs(dy));
	*ox = x + dx * t;
	*oy = y + dy * t;
}

/*
 * Draw a graph of domains as SVG.  center < 0: every domain of the summary
 * on a circle; else that domain in the middle and the nodes it has edges
 * with around it, and only its edges.  id prefixes the marker IDs, so that
 * several graphs can share one page.
 */
static void
svg_graph(PQExpBuffer out, const ReportData *rd, int center, const char *id)
{
	int			nnodes = rd->ndomains + 1;
	bool	   *shown = pg_malloc0(sizeof(bool) * nnodes);
	double	   *xs = pg_malloc0(sizeof(double) * nnodes);
	double	   *ys = pg_malloc0(sizeof(double) * nnodes);
	int			nring = 0;
	int			k;
	int			i;
	int			nshown_edges = 0;
	double		radius;
	double		rx;
	double		ry;
	double		width;
	double		height;

	for (i = 0; i < rd->nedges; i++)
	{
		const ReportEdge *e = &rd->edges[i];

		if (center >= 0 && e->from != center && e->to != center)
			continue;
		shown[e->from] = shown[e->to] = true;
		nshown_edges++;
	}
	if (center < 0)
		for (i = 0; i < rd->ndomains; i++)
			shown[i] = true;
	else
		shown[center] = true;
	for (i = 0; i < nnodes; i++)
		if (shown[i] && i != center)
			nring++;

	/*
	 * About NODE_W + 30 of circumference per node; an ellipse, flatter than
	 * high (pages are wider than tall), never so small that an edge label
	 * has no room between two boxes or between the centre and the ring.
	 */
	radius = nring * (NODE_W + 30) / (2 * M_PI);
	if (nring <= 1 && center < 0)
		radius = 0;
	rx = Max(radius, 260.0);
	ry = Max(0.8 * radius, 170.0);
	if (radius == 0)
		rx = ry = 0;
	width = 2 * rx + NODE_W + 40;
	height = 2 * ry + NODE_H + 60;
	k = 0;
	for (i = 0; i < nnodes; i++)
	{
		double		a;

		if (!shown[i])
			continue;
		if (i == center)
		{
			xs[i] = width / 2;
			ys[i] = height / 2;
			continue;
		}
		a = -M_PI / 2 + 2 * M_PI * k / Max(nring, 1);
		xs[i] = width / 2 + rx * cos(a);
		ys[i] = height / 2 + ry * sin(a);
		k++;
	}

	appendPQExpBuffer(out,
					  "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" role=\"img\""
					  " width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
					  width, height, width, height);
	appendPQExpBuffer(out, "<title>%s</title>\n",
					  center < 0 ? "Domains and what ties them" : "The domain and its neighbours");
	appendPQExpBufferStr(out, "<defs>\n");
	appendPQExpBuffer(out,
					  "<marker id=\"%s-fk\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\""
					  " markerWidth=\"12\" markerHeight=\"12\" markerUnits=\"userSpaceOnUse\""
					  " orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d62728\"/></marker>\n"
					  "<marker id=\"%s-dep\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\""
					  " markerWidth=\"12\" markerHeight=\"12\" markerUnits=\"userSpaceOnUse\""
					  " orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#ff7f0e\"/></marker>\n",
					  id, id);
	appendPQExpBufferStr(out, "</defs>\n");

	/* edges first, under the nodes */
	for (i = 0; i < rd->nedges; i++)
	{
		const ReportEdge *e = &rd->edges[i];
		double		x1,
					y1,
					x2,
					y2,
					cx,
					cy,
					mx,
					my,
					len,
					width;
		const char *color;
		const char *line;
		char	   *nl;

		if (center >= 0 && e->from != center && e->to != center)
			continue;
		color = !e->directed ? "#1f77b4" : e->has_fk ? "#d62728" : "#ff7f0e";
		width = Min(8.0, 1.0 + 1.5 * log((double) Max(e->weight, 1)));
		/* curve to the left of the direction: a->b and b->a do not overlap */
		mx = (xs[e->from] + xs[e->to]) / 2;
		my = (ys[e->from] + ys[e->to]) / 2;
		len = sqrt(pow(xs[e->to] - xs[e->from], 2) + pow(ys[e->to] - ys[e->from], 2));
		if (len < 1)
			continue;
		cx = mx;
		cy = my;
		if (e->directed)
		{
			cx += -(ys[e->to] - ys[e->from]) / len * len * 0.15;
			cy += (xs[e->to] - xs[e->from]) / len * len * 0.15;
		}
		box_exit(xs[e->from], ys[e->from], cx, cy, &x1, &y1);
		box_exit(xs[e->to], ys[e->to], cx, cy, &x2, &y2);

		appendPQExpBufferStr(out, "<g class=\"edge\"><title>");
		html_escape(out, node_name(rd, e->from));
		appendPQExpBufferStr(out, e->directed ? " \xe2\x86\x92 " : " \xe2\x80\x94 ");
		html_escape(out, node_name(rd, e->to));
		appendPQExpBufferStr(out, ": ");
		html_escape(out, e->label.data);
		appendPQExpBufferStr(out, "</title>");
		appendPQExpBuffer(out,
						  "<path d=\"M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f\" fill=\"none\""
						  " stroke=\"%s\" stroke-width=\"%.1f\"%s",
						  x1, y1, cx, cy, x2, y2, color, width,
						  e->directed ? "" : " stroke-dasharray=\"6 4\"");
		if (e->directed)
			appendPQExpBuffer(out, " marker-end=\"url(#%s-%s)\"", id, e->has_fk ? "fk" : "dep");
		appendPQExpBufferStr(out, "/>");

		/* the label at the curve's middle, one tspan per line */
		if (nshown_edges <= 40)
		{
			double		lx = 0.25 * x1 + 0.5 * cx + 0.25 * x2;
			double		ly = 0.25 * y1 + 0.5 * cy + 0.25 * y2;
			int			nlines = 1;

			for (line = e->label.data; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
				nlines++;
			appendPQExpBuffer(out, "<text class=\"elabel\" x=\"%.1f\" y=\"%.1f\" fill=\"%s\">",
							  lx, ly - 6 * (nlines - 1), color);
			line = e->label.data;
			for (k = 0; k < nlines; k++)
			{
				nl = strchr(line, '\n');
				appendPQExpBuffer(out, "<tspan x=\"%.1f\" dy=\"%s\">", lx, k == 0 ? "0" : "12");
				if (nl)
				{
					char	   *piece = pnstrdup(line, nl - line);

					html_escape(out, piece);
					pg_free(piece);
					line = nl + 1;
				}
				else
					html_escape(out, line);
				appendPQExpBufferStr(out, "</tspan>");
			}
			appendPQExpBufferStr(out, "</text>");
		}
		appendPQExpBufferStr(out, "</g>\n");
	}

	/* nodes: a box with the name and "N tables, size", linked to the section */
	for (i = 0; i < nnodes; i++)
	{
		double		x,
					y;

		if (!shown[i])
			continue;
		x = xs[i] - NODE_W / 2.0;
		y = ys[i] - NODE_H / 2.0;
		if (i == rd->ndomains)
		{
			appendPQExpBuffer(out,
							  "<g class=\"node unowned\"><title>tables of no domain</title>"
							  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" rx=\"8\"/>"
							  "<text x=\"%.1f\" y=\"%.1f\" class=\"nname\">(unowned)</text></g>\n",
							  x, y, NODE_W, NODE_H, xs[i], ys[i] + 4);
			continue;
		}
		appendPQExpBufferStr(out, "<a href=\"#domain-");
		html_escape(out, PQgetvalue(rd->summary, i, 0));
		appendPQExpBuffer(out, "\"><g class=\"node%s%s\"><title>",
						  i == center ? " center" : "",
						  PQgetvalue(rd->summary, i, 12)[0] == 't' ? " ready" : "");
		html_escape(out, PQgetvalue(rd->summary, i, 0));
		appendPQExpBuffer(out, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" rx=\"8\"/>",
						  x, y, NODE_W, NODE_H);
		appendPQExpBuffer(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"nname\">", xs[i], ys[i] - 4);
		html_escape(out, PQgetvalue(rd->summary, i, 0));
		appendPQExpBuffer(out, "</text><text x=\"%.1f\" y=\"%.1f\" class=\"ninfo\">%s table%s, ",
						  xs[i], ys[i] + 12, PQgetvalue(rd->summary, i, 1),
						  strcmp(PQgetvalue(rd->summary, i, 1), "1") == 0 ? "" : "s");
		html_escape(out, PQgetvalue(rd->summary, i, 2));
		appendPQExpBufferStr(out, "</text></g></a>\n");
	}
	appendPQExpBufferStr(out, "</svg>\n");
	pg_free(shown);
	pg_free(xs);
	pg_free(ys);
}

/* ------------------------------------------------------------------------
 * HTML
 * ------------------------------------------------------------------------ */

static const char *report_css =
"body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}"
"header{background:#2b4a75;color:#fff;padding:14px 24px}"
"header h1{margin:0;font-size:22px}header p{margin:4px 0 0;font-size:13px;opacity:.9}"
"nav{background:#fff;border-bottom:1px solid #ddd;padding:8px 24px;font-size:14px;position:sticky;top:0}"
"nav a{margin-right:14px;color:#2b4a75;text-decoration:none}nav a:hover{text-decoration:underline}"
"main{padding:8px 24px 40px}section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 18px 16px;margin:16px 0}"
"h2{font-size:19px;border-bottom:1px solid #eee;padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}"
"table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
"th{background:#f0f3f8}td.num{text-align:right;white-space:nowrap}tr.ready td:first-child{border-left:4px solid #2ca02c}"
".yes{color:#2ca02c;font-weight:bold}.no{color:#d62728;font-weight:bold}"
"pre,code{font-family:Menlo,Consolas,monospace;font-size:12px}pre{white-space:pre-wrap;background:#f6f6f6;padding:4px 6px;margin:0}"
"svg.graph{max-width:100%;height:auto;background:#fff}svg .node rect{fill:#eef3fb;stroke:#4a6fa5;stroke-width:1.5}"
"svg .node.ready rect{fill:#eaf6ea;stroke:#2ca02c}svg .node.center rect{stroke-width:3}"
"svg .unowned rect{fill:#fff;stroke:#888;stroke-dasharray:5 4}"
"svg text{font-family:Helvetica,Arial,sans-serif;text-anchor:middle}svg .nname{font-size:13px;font-weight:bold}"
"svg .ninfo{font-size:11px;fill:#555}svg .elabel{font-size:10px;paint-order:stroke;stroke:#fff;stroke-width:3px}svg a:hover rect{stroke-width:3}"
".legend span{display:inline-block;margin-right:16px;font-size:12px}.muted{color:#777;font-size:12px}"
"details{margin:6px 0}summary{cursor:pointer;font-size:13px}";

/* <td> with escaped text, "-" for NULL; num right-aligns */
static void
html_td(PQExpBuffer out, const char *val, bool num)
{
	appendPQExpBufferStr(out, num ? "<td class=\"num\">" : "<td>");
	if (val == NULL)
		appendPQExpBufferStr(out, "-");
	else
		html_escape(out, val);
	appendPQExpBufferStr(out, "</td>");
}

static void
html_link_domain(PQExpBuffer out, const char *domain)
{
	appendPQExpBufferStr(out, "<a href=\"#domain-");
	html_escape(out, domain);
	appendPQExpBufferStr(out, "\">");
	html_escape(out, domain);
	appendPQExpBufferStr(out, "</a>");
}

/* Which ties of a domain html_crossings() lists. */
typedef enum CrossingSide
{
	CROSSINGS_OUT,				/* directed, the domain depends on the other */
	CROSSINGS_IN,				/* directed, the other depends on the domain */
	CROSSINGS_TOGETHER			/* undirected: views of both, runtime */
} CrossingSide;

/* the ties of a domain on one side, by kind and other domain */
static void
html_crossings(PQExpBuffer out, const ReportData *rd, const char *domain, CrossingSide side)
{
	bool		outgoing = side != CROSSINGS_IN;
	int			n = PQntuples(rd->crossings);
	int			i;
	int			shown = 0;

	for (i = 0; i < n; i++)
	{
		const char *from = getv(rd->crossings, i, 0);
		const char *to = getv(rd->crossings, i, 1);
		bool		directed = PQgetvalue(rd->crossings, i, 3)[0] == 't';
		const char *mine = outgoing ? from : to;
		const char *other = outgoing ? to : from;
		PQExpBufferData t;

		if (directed != (side != CROSSINGS_TOGETHER))
			continue;
		if (!directed)
		{
			if (from && strcmp(from, domain) == 0)
				other = to;
			else if (to && strcmp(to, domain) == 0)
				other = from;
			else
				continue;
		}
		else if (mine == NULL || strcmp(mine, domain) != 0)
			continue;
		if (shown++ == 0)
			appendPQExpBufferStr(out, "<table><tr><th>kind</th><th>domain</th><th>count</th><th>what</th></tr>\n");
		appendPQExpBufferStr(out, "<tr>");
		html_td(out, PQgetvalue(rd->crossings, i, 2), false);
		appendPQExpBufferStr(out, "<td>");
		if (other)
			html_link_domain(out, other);
		else
			appendPQExpBufferStr(out, "(unowned)");
		appendPQExpBufferStr(out, "</td>");
		html_td(out, PQgetvalue(rd->crossings, i, 4), true);
		initPQExpBuffer(&t);
		crossing_text(&t, PQgetvalue(rd->crossings, i, 2), directed,
					  PQgetvalue(rd->crossings, i, 4), getv(rd->crossings, i, 5));
		if (directed)
			appendPQExpBufferStr(&t, outgoing ? " to it" : " from it");
		html_td(out, t.data, false);
		termPQExpBuffer(&t);
		appendPQExpBufferStr(out, "</tr>\n");
	}
	if (shown)
		appendPQExpBufferStr(out, "</table>\n");
	else
		appendPQExpBuffer(out, "<p class=\"muted\">none</p>\n");
}

/* the extraction plan of domain i as a table */
static void
html_plan(PQExpBuffer out, const ReportData *rd, int i)
{
	PGresult   *p;
	int			r;

	if (!rd->has_plan)
	{
		appendPQExpBufferStr(out, "<p class=\"muted\">migration_split.extraction_plan() is not available in this version of the extension.</p>\n");
		return;
	}
	p = rd->plans[i];
	if (PQntuples(p) == 0)
	{
		appendPQExpBufferStr(out, "<p class=\"muted\">nothing to do</p>\n");
		return;
	}
	appendPQExpBufferStr(out, "<table><tr><th>step</th><th>kind</th><th>object</th><th>action</th><th>detail</th></tr>\n");
	for (r = 0; r < PQntuples(p); r++)
	{
		appendPQExpBufferStr(out, "<tr>");
		html_td(out, getv(p, r, 0), true);
		html_td(out, getv(p, r, 1), false);
		html_td(out, getv(p, r, 2), false);
		html_td(out, getv(p, r, 3), false);
		html_td(out, getv(p, r, 4), false);
		appendPQExpBufferStr(out, "</tr>\n");
	}
	appendPQExpBufferStr(out, "</table>\n");
}

static void
html_domain_section(PQExpBuffer out, const ReportData *rd, int i)
{
	const PGresult *s = rd->summary;
	const char *domain = PQgetvalue(s, i, 0);
	const char *changed_at;
	const char *state = lifecycle_of(rd, domain, &changed_at);
	char		gid[32];
	int			r;
	int			ntables = 0;

	appendPQExpBufferStr(out, "<section class=\"domain\" id=\"domain-");
	html_escape(out, domain);
	appendPQExpBufferStr(out, "\">\n<h2>Domain ");
	html_escape(out, domain);
	appendPQExpBufferStr(out, "</h2>\n");
	if (getv(s, i, 13))
	{
		appendPQExpBufferStr(out, "<p>");
		html_escape(out, getv(s, i, 13));
		appendPQExpBufferStr(out, "</p>\n");
	}
	appendPQExpBufferStr(out, "<table>\n");
	appendPQExpBufferStr(out, "<tr><th>tables</th>");
	html_td(out, getv(s, i, 1), true);
	appendPQExpBufferStr(out, "</tr>\n<tr><th>size</th>");
	html_td(out, getv(s, i, 2), true);
	appendPQExpBufferStr(out, "</tr>\n<tr><th>estimated rows</th>");
	html_td(out, getv(s, i, 3), true);
	appendPQExpBufferStr(out, "</tr>\n<tr><th>foreign keys out / in</th><td class=\"num\">");
	html_escape(out, getv(s, i, 4));
	appendPQExpBufferStr(out, " / ");
	html_escape(out, getv(s, i, 5));
	appendPQExpBufferStr(out, "</td></tr>\n<tr><th>other dependencies</th>");
	html_td(out, getv(s, i, 6), true);
	appendPQExpBufferStr(out, "</tr>\n<tr><th>runtime: crossing queries (calls)</th><td class=\"num\">");
	if (getv(s, i, 7))
	{
		html_escape(out, getv(s, i, 7));
		appendPQExpBufferStr(out, " (");
		html_escape(out, getv(s, i, 8));
		appendPQExpBufferStr(out, ")");
	}
	else
		appendPQExpBufferStr(out, "-");
	appendPQExpBufferStr(out, "</td></tr>\n<tr><th>runtime: write transactions with other domains</th>");
	html_td(out, getv(s, i, 9), true);
	appendPQExpBufferStr(out, "</tr>\n<tr><th>last violation</th>");
	html_td(out, getv(s, i, 10), false);
	appendPQExpBufferStr(out, "</tr>\n");
	if (rd->has_lifecycle)
	{
		appendPQExpBufferStr(out, "<tr><th>lifecycle state</th><td>");
		html_escape(out, state ? state : "monolith");
		if (changed_at)
		{
			appendPQExpBufferStr(out, " (since ");
			html_escape(out, changed_at);
			appendPQExpBufferStr(out, ")");
		}
		appendPQExpBufferStr(out, "</td></tr>\n");
	}
	appendPQExpBuffer(out, "<tr><th>ready for extraction</th><td>%s (%s blocker%s)</td></tr>\n</table>\n",
					  PQgetvalue(s, i, 12)[0] == 't' ? "<span class=\"yes\">yes</span>" : "<span class=\"no\">no</span>",
					  PQgetvalue(s, i, 11), strcmp(PQgetvalue(s, i, 11), "1") == 0 ? "" : "s");

	appendPQExpBufferStr(out, "<h3>Its graph</h3>\n");
	snprintf(gid, sizeof(gid), "g%d", i + 1);
	svg_graph(out, rd, i, gid);

	appendPQExpBufferStr(out, "<h3>Crossings out (this domain depends on)</h3>\n");
	html_crossings(out, rd, domain, CROSSINGS_OUT);
	appendPQExpBufferStr(out, "<h3>Crossings in (other domains depend on it)</h3>\n");
	html_crossings(out, rd, domain, CROSSINGS_IN);
	appendPQExpBufferStr(out, "<h3>Used together (views of both, runtime statements and write transactions)</h3>\n");
	html_crossings(out, rd, domain, CROSSINGS_TOGETHER);

	appendPQExpBufferStr(out, "<h3>Extraction plan</h3>\n");
	html_plan(out, rd, i);

	for (r = 0; r < PQntuples(rd->tables); r++)
		if (strcmp(PQgetvalue(rd->tables, r, 0), domain) == 0)
			ntables++;
	appendPQExpBuffer(out, "<details><summary>Its %d table%s</summary>\n", ntables, ntables == 1 ? "" : "s");
	if (ntables > 0)
	{
		appendPQExpBufferStr(out, "<table><tr><th>table</th><th>estimated rows</th></tr>\n");
		for (r = 0; r < PQntuples(rd->tables); r++)
		{
			if (strcmp(PQgetvalue(rd->tables, r, 0), domain) != 0)
				continue;
			appendPQExpBufferStr(out, "<tr>");
			html_td(out, getv(rd->tables, r, 1), false);
			html_td(out, getv(rd->tables, r, 2), true);
			appendPQExpBufferStr(out, "</tr>\n");
		}
		appendPQExpBufferStr(out, "</table>\n");
	}
	appendPQExpBufferStr(out, "</details>\n<p><a href=\"#top\">back to the top</a></p>\n</section>\n");
}

static void
html_top_queries(PQExpBuffer out, const ReportData *rd)
{
	int			r;

	appendPQExpBufferStr(out, "<section id=\"runtime\">\n<h2>Top runtime crossings</h2>\n");
	if (!rd->monitor_loaded)
	{
		appendPQExpBufferStr(out, "<p class=\"muted\">The runtime monitor is not running: migration_split is not in shared_preload_libraries.</p>\n</section>\n");
		return;
	}
	if (PQntuples(rd->top) == 0)
	{
		appendPQExpBufferStr(out, "<p class=\"muted\">No statement has crossed domains since the last reset.</p>\n</section>\n");
		return;
	}
	appendPQExpBuffer(out, "<p class=\"muted\">Statements that reached tables of two or more domains, most called first (at most %d). Texts of other roles' statements are shown only to members of pg_read_all_stats.</p>\n",
					  REPORT_TOP_QUERIES);
	appendPQExpBufferStr(out, "<table><tr><th>domains</th><th>kind</th><th>calls</th><th>last seen</th><th>application</th><th>tables</th><th>query</th></tr>\n");
	for (r = 0; r < PQntuples(rd->top); r++)
	{
		appendPQExpBufferStr(out, "<tr>");
		html_td(out, getv(rd->top, r, 0), false);
		html_td(out, getv(rd->top, r, 1), false);
		html_td(out, getv(rd->top, r, 2), true);
		html_td(out, getv(rd->top, r, 3), false);
		html_td(out, getv(rd->top, r, 4), false);
		html_td(out, getv(rd->top, r, 6), false);
		if (getv(rd->top, r, 5))
		{
			appendPQExpBufferStr(out, "<td><pre>");
			html_escape(out, getv(rd->top, r, 5));
			appendPQExpBufferStr(out, "</pre></td>");
		}
		else
			appendPQExpBufferStr(out, "<td class=\"muted\">(statement of another role: text not shown)</td>");
		appendPQExpBufferStr(out, "</tr>\n");
	}
	appendPQExpBufferStr(out, "</table>\n</section>\n");
}

static void
write_html(PQExpBuffer out, const ReportData *rd)
{
	int			i;

	appendPQExpBufferStr(out, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
						 "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width\"/>\n"
						 "<meta name=\"generator\" content=\"migration-split report\"/>\n<title>Boundary report: ");
	html_escape(out, rd->database);
	if (rd->only_domain)
	{
		appendPQExpBufferStr(out, ", domain ");
		html_escape(out, rd->only_domain);
	}
	appendPQExpBuffer(out, "</title>\n<style>%s</style>\n</head>\n<body id=\"top\">\n", report_css);

	appendPQExpBufferStr(out, "<header><h1>Boundary report of database ");
	html_escape(out, rd->database);
	if (rd->only_domain)
	{
		appendPQExpBufferStr(out, ", domain ");
		html_escape(out, rd->only_domain);
	}
	appendPQExpBufferStr(out, "</h1>\n<p>generated ");
	html_escape(out, rd->generated_at);
	appendPQExpBufferStr(out, " from ");
	html_escape(out, rd->source_desc);
	appendPQExpBufferStr(out, " as role ");
	html_escape(out, rd->role);
	appendPQExpBufferStr(out, " (PostgreSQL ");
	html_escape(out, rd->server_version);
	appendPQExpBufferStr(out, ", migration_split ");
	html_escape(out, rd->ext_version);
	appendPQExpBufferStr(out, ")</p></header>\n");

	appendPQExpBufferStr(out, "<nav><a href=\"#overview\">Overview</a><a href=\"#graph\">Graph</a>");
	for (i = 0; i < rd->ndomains; i++)
		if (has_section(rd, i))
			html_link_domain(out, PQgetvalue(rd->summary, i, 0));
	appendPQExpBufferStr(out, "<a href=\"#runtime\">Runtime crossings</a></nav>\n<main>\n");

	/* overview: one row per domain */
	appendPQExpBufferStr(out, "<section id=\"overview\">\n<h2>Overview</h2>\n");
	appendPQExpBufferStr(out, "<table><tr><th>domain</th><th>tables</th><th>size</th><th>estimated rows</th>"
						 "<th>FKs out</th><th>FKs in</th><th>other dependencies</th><th>crossing queries</th>"
						 "<th>write transactions</th><th>last violation</th>");
	if (rd->has_lifecycle)
		appendPQExpBufferStr(out, "<th>lifecycle</th>");
	appendPQExpBufferStr(out, "<th>blockers</th><th>ready</th></tr>\n");
	for (i = 0; i < rd->ndomains; i++)
	{
		const char *changed_at;
		const char *state;

		if (!has_section(rd, i))
			continue;
		appendPQExpBuffer(out, "<tr%s><td>", PQgetvalue(rd->summary, i, 12)[0] == 't' ? " class=\"ready\"" : "");
		html_link_domain(out, PQgetvalue(rd->summary, i, 0));
		appendPQExpBufferStr(out, "</td>");
		html_td(out, getv(rd->summary, i, 1), true);
		html_td(out, getv(rd->summary, i, 2), true);
		html_td(out, getv(rd->summary, i, 3), true);
		html_td(out, getv(rd->summary, i, 4), true);
		html_td(out, getv(rd->summary, i, 5), true);
		html_td(out, getv(rd->summary, i, 6), true);
		html_td(out, getv(rd->summary, i, 7), true);
		html_td(out, getv(rd->summary, i, 9), true);
		html_td(out, getv(rd->summary, i, 10), false);
		if (rd->has_lifecycle)
		{
			state = lifecycle_of(rd, PQgetvalue(rd->summary, i, 0), &changed_at);
			html_td(out, state ? state : "monolith", false);
		}
		html_td(out, getv(rd->summary, i, 11), true);
		appendPQExpBuffer(out, "<td>%s</td></tr>\n",
						  PQgetvalue(rd->summary, i, 12)[0] == 't' ? "<span class=\"yes\">yes</span>" : "<span class=\"no\">no</span>");
	}
	appendPQExpBufferStr(out, "</table>\n<p class=\"muted\">blockers = foreign keys out and in + other dependencies + crossing queries; a domain is ready for extraction when nothing ties it to another one.</p>\n</section>\n");

	/* the domain graph */
	appendPQExpBufferStr(out, "<section id=\"graph\">\n<h2>Domains and what ties them</h2>\n");
	appendPQExpBufferStr(out, "<p class=\"legend\"><span style=\"color:#d62728\">&#8594; foreign keys (and more): the arrow points to the domain depended on</span>"
						 "<span style=\"color:#ff7f0e\">&#8594; other schema ties</span>"
						 "<span style=\"color:#1f77b4\">- - views of both, runtime queries and write transactions</span>"
						 "<span>thicker: more ties; click a domain for its section</span></p>\n");
	svg_graph(out, rd, rd->only_domain ? domain_index(rd, rd->only_domain) : -1, "g0");
	appendPQExpBufferStr(out, "<details><summary>The same graph as Mermaid text (boundary_graph('mermaid'))</summary><pre>");
	html_escape(out, rd->mermaid);
	appendPQExpBufferStr(out, "</pre></details>\n</section>\n");

	for (i = 0; i < rd->ndomains; i++)
		if (has_section(rd, i))
			html_domain_section(out, rd, i);

	html_top_queries(out, rd);
	appendPQExpBufferStr(out, "</main>\n</body>\n</html>\n");
}

/* ------------------------------------------------------------------------
 * Markdown
 * ------------------------------------------------------------------------ */

static void
md_cell(PQExpBuffer out, const char *val)
{
	appendPQExpBufferStr(out, " ");
	md_escape(out, val ? val : "-");
	appendPQExpBufferStr(out, " |");
}

static void
write_markdown(PQExpBuffer out, const ReportData *rd)
{
	int			i;
	int			r;

	appendPQExpBufferStr(out, "# Boundary report of database ");
	md_escape(out, rd->database);
	if (rd->only_domain)
	{
		appendPQExpBufferStr(out, ", domain ");
		md_escape(out, rd->only_domain);
	}
	appendPQExpBufferStr(out, "\n\nGenerated ");
	md_escape(out, rd->generated_at);
	appendPQExpBufferStr(out, " from ");
	md_escape(out, rd->source_desc);
	appendPQExpBufferStr(out, " as role ");
	md_escape(out, rd->role);
	appendPQExpBufferStr(out, " (PostgreSQL ");
	md_escape(out, rd->server_version);
	appendPQExpBufferStr(out, ", migration_split ");
	md_escape(out, rd->ext_version);
	appendPQExpBufferStr(out, ").\n\n## Overview\n\n| domain | tables | size | estimated rows | FKs out | FKs in | other dependencies | crossing queries | write transactions | last violation |");
	if (rd->has_lifecycle)
		appendPQExpBufferStr(out, " lifecycle |");
	appendPQExpBufferStr(out, " blockers | ready |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
	if (rd->has_lifecycle)
		appendPQExpBufferStr(out, "---|");
	appendPQExpBufferStr(out, "---:|---|\n");
	for (i = 0; i < rd->ndomains; i++)
	{
		const char *changed_at;
		const char *state;

		if (!has_section(rd, i))
			continue;
		appendPQExpBufferStr(out, "| [");
		md_escape(out, PQgetvalue(rd->summary, i, 0));
		appendPQExpBufferStr(out, "](#domain-");
		appendPQExpBufferStr(out, PQgetvalue(rd->summary, i, 0));
		appendPQExpBufferStr(out, ") |");
		md_cell(out, getv(rd->summary, i, 1));
		md_cell(out, getv(rd->summary, i, 2));
		md_cell(out, getv(rd->summary, i, 3));
		md_cell(out, getv(rd->summary, i, 4));
		md_cell(out, getv(rd->summary, i, 5));
		md_cell(out, getv(rd->summary, i, 6));
		md_cell(out, getv(rd->summary, i, 7));
		md_cell(out, getv(rd->summary, i, 9));
		md_cell(out, getv(rd->summary, i, 10));
		if (rd->has_lifecycle)
		{
			state = lifecycle_of(rd, PQgetvalue(rd->summary, i, 0), &changed_at);
			md_cell(out, state ? state : "monolith");
		}
		md_cell(out, getv(rd->summary, i, 11));
		md_cell(out, PQgetvalue(rd->summary, i, 12)[0] == 't' ? "yes" : "no");
		appendPQExpBufferStr(out, "\n");
	}

	appendPQExpBufferStr(out, "\n## Domains and what ties them\n\n```mermaid\n");
	appendPQExpBufferStr(out, rd->mermaid);
	appendPQExpBufferStr(out, "```\n");

	for (i = 0; i < rd->ndomains; i++)
	{
		const char *domain = PQgetvalue(rd->summary, i, 0);
		int			n = PQntuples(rd->crossings);
		bool		any = false;

		if (!has_section(rd, i))
			continue;
		/* domain names are lower-case identifiers: safe in the anchor */
		appendPQExpBuffer(out, "\n<a id=\"domain-%s\"></a>\n\n## Domain ", domain);
		md_escape(out, domain);
		appendPQExpBufferStr(out, "\n\n| | |\n|---|---|\n| tables |");
		md_cell(out, getv(rd->summary, i, 1));
		appendPQExpBufferStr(out, "\n| size |");
		md_cell(out, getv(rd->summary, i, 2));
		appendPQExpBufferStr(out, "\n| estimated rows |");
		md_cell(out, getv(rd->summary, i, 3));
		appendPQExpBufferStr(out, "\n| runtime crossing queries |");
		md_cell(out, getv(rd->summary, i, 7));
		appendPQExpBufferStr(out, "\n| last violation |");
		md_cell(out, getv(rd->summary, i, 10));
		if (rd->has_lifecycle)
		{
			const char *changed_at;
			const char *state = lifecycle_of(rd, domain, &changed_at);

			appendPQExpBufferStr(out, "\n| lifecycle state |");
			md_cell(out, state ? state : "monolith");
		}
		appendPQExpBufferStr(out, "\n| ready for extraction |");
		md_cell(out, PQgetvalue(rd->summary, i, 12)[0] == 't' ? "yes" : "no");
		appendPQExpBufferStr(out, "\n\n### Tables\n\n| table | estimated rows |\n|---|---:|\n");
		for (r = 0; r < PQntuples(rd->tables); r++)
		{
			if (strcmp(PQgetvalue(rd->tables, r, 0), domain) != 0)
				continue;
			appendPQExpBufferStr(out, "|");
			md_cell(out, getv(rd->tables, r, 1));
			md_cell(out, getv(rd->tables, r, 2));
			appendPQExpBufferStr(out, "\n");
		}
		appendPQExpBufferStr(out, "\n### Crossings\n\n");
		for (r = 0; r < n; r++)
		{
			const char *from = getv(rd->crossings, r, 0);
			const char *to = getv(rd->crossings, r, 1);
			bool		directed = PQgetvalue(rd->crossings, r, 3)[0] == 't';
			PQExpBufferData t;

			if (!((from && strcmp(from, domain) == 0) || (to && strcmp(to, domain) == 0)))
				continue;
			if (!any)
				appendPQExpBufferStr(out, "| from | to | what |\n|---|---|---|\n");
			any = true;
			initPQExpBuffer(&t);
			crossing_text(&t, PQgetvalue(rd->crossings, r, 2), directed,
						  PQgetvalue(rd->crossings, r, 4), getv(rd->crossings, r, 5));
			appendPQExpBufferStr(out, "|");
			md_cell(out, from ? from : "(unowned)");
			md_cell(out, to ? to : "(unowned)");
			md_cell(out, t.data);
			appendPQExpBufferStr(out, "\n");
			termPQExpBuffer(&t);
		}
		if (!any)
			appendPQExpBufferStr(out, "none\n");
		appendPQExpBufferStr(out, "\n### Extraction plan\n\n");
		if (!rd->has_plan)
			appendPQExpBufferStr(out, "migration\\_split.extraction\\_plan() is not available in this version of the extension.\n");
		else if (PQntuples(rd->plans[i]) == 0)
			appendPQExpBufferStr(out, "nothing to do\n");
		else
		{
			appendPQExpBufferStr(out, "| step | kind | object | action | detail |\n|---:|---|---|---|---|\n");
			for (r = 0; r < PQntuples(rd->plans[i]); r++)
			{
				appendPQExpBufferStr(out, "|");
				md_cell(out, getv(rd->plans[i], r, 0));
				md_cell(out, getv(rd->plans[i], r, 1));
				md_cell(out, getv(rd->plans[i], r, 2));
				md_cell(out, getv(rd->plans[i], r, 3));
				md_cell(out, getv(rd->plans[i], r, 4));
				appendPQExpBufferStr(out, "\n");
			}
		}
	}

	appendPQExpBufferStr(out, "\n## Top runtime crossings\n\n");
	if (!rd->monitor_loaded)
		appendPQExpBufferStr(out, "The runtime monitor is not running: migration\\_split is not in shared\\_preload\\_libraries.\n");
	else if (PQntuples(rd->top) == 0)
		appendPQExpBufferStr(out, "No statement has crossed domains since the last reset.\n");
	else
	{
		appendPQExpBufferStr(out, "| domains | kind | calls | last seen | query |\n|---|---|---:|---|---|\n");
		for (r = 0; r < PQntuples(rd->top); r++)
		{
			appendPQExpBufferStr(out, "|");
			md_cell(out, getv(rd->top, r, 0));
			md_cell(out, getv(rd->top, r, 1));
			md_cell(out, getv(rd->top, r, 2));
			md_cell(out, getv(rd->top, r, 3));
			md_cell(out, getv(rd->top, r, 5) ? getv(rd->top, r, 5) : "(statement of another role: text not shown)");
			appendPQExpBufferStr(out, "\n");
		}
	}
}

/* ------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------ */

/* Write buf to path ("-": standard output); exit EXIT_USAGE on failure. */
static void
write_file(const char *path, const PQExpBuffer buf)
{
	FILE	   *f;

	if (strcmp(path, "-") == 0)
	{
		fputs(buf->data, stdout);
		return;
	}
	f = fopen(path, "w");
	if (f == NULL)
	{
		pg_log_error("could not open file \"%s\" for writing: %m", path);
		exit(EXIT_USAGE);
	}
	if (fwrite(buf->data, 1, buf->len, f) != buf->len || fclose(f) != 0)
	{
		pg_log_error("could not write file \"%s\": %m", path);
		exit(EXIT_USAGE);
	}
	pg_log_info("wrote %s", path);
}

int
cmd_report(const JobOptions *opts)
{
	PGconn	   *conn;
	ReportData	rd;
	PQExpBufferData buf;

	if (opts->source == NULL)
	{
		pg_log_error("no source database specified");
		pg_log_error_hint("Use --source to give the monolith database's connection string.");
		exit(EXIT_USAGE);
	}
	if (opts->html_file == NULL && opts->markdown_file == NULL)
	{
		pg_log_error("no output file specified");
		pg_log_error_hint("Use --html FILE or --markdown FILE (\"-\" for standard output).");
		exit(EXIT_USAGE);
	}

	memset(&rd, 0, sizeof(rd));
	rd.only_domain = opts->domain;
	rd.source_desc = job_describe_conninfo(opts->source);
	conn = job_connect(opts->source, "source", false, true);
	/* the page says UTF-8: have the server convert every text to it */
	if (PQsetClientEncoding(conn, "UTF8") != 0)
	{
		pg_log_error("could not set the client encoding to UTF8: %s", job_error(conn));
		exit(EXIT_SERVER);
	}
	read_report(conn, &rd);
	PQfinish(conn);

	if (opts->html_file)
	{
		initPQExpBuffer(&buf);
		write_html(&buf, &rd);
		write_file(opts->html_file, &buf);
		termPQExpBuffer(&buf);
	}
	if (opts->markdown_file)
	{
		initPQExpBuffer(&buf);
		write_markdown(&buf, &rd);
		write_file(opts->markdown_file, &buf);
		termPQExpBuffer(&buf);
	}
	return EXIT_OK;
}
