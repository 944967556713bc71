/*-------------------------------------------------------------------------
 *
 * progress.c
 *		Progress of the initial copy: a bar on a terminal, plain periodic
 *		lines otherwise, and a summary per table at the end.
 *
 * Only the main thread prints; copy workers update per-table counters that
 * are read here without locking (a slightly stale number is fine).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>
#include <unistd.h>

#include "common/logging.h"

#include "job.h"

static Domain *pdomain;
static int	pmode;				/* 1 bar, 0 lines, -1 nothing */
static double pstart;
static double plast;
static bool bar_drawn;
static const char *pverb = "copying";

/* the word for tables in progress in the periodic lines ("copying") */
void
progress_set_verb(const char *verb)
{
	pverb = verb;
}

static const char *
human_bytes(double bytes, char *buf, size_t len)
{
	const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	int			u = 0;

	while (bytes >= 1024 && u < 4)
	{
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
	return buf;
}

static const char *
human_duration(double secs, char *buf, size_t len)
{
	long		s = (long) (secs + 0.5);

	if (secs < 0)
		snprintf(buf, len, "--:--");
	else if (s >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
	else
		snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
	return buf;
}

/*
 * mode: 1 progress bar, 0 periodic lines, -1 decide (bar when stderr is a
 * terminal, lines otherwise).
 */
void
progress_start(Domain *d, int mode)
{
	pdomain = d;
	if (mode == -1)
		mode = isatty(fileno(stderr)) ? 1 : 0;
	pmode = mode;
	pstart = plast = job_now_seconds();
	bar_drawn = false;
}

void
progress_update(bool force)
{
	double		now = job_now_seconds();
	double		interval = pmode == 1 ? 0.25 : 10.0;
	long long	rows = 0;
	long long	bytes = 0;
	double		est_rows = 0;
	double		done_rows = 0;
	int			done = 0;
	int			total;
	double		frac;
	double		rate;
	double		eta;
	char		b1[32],
				b2[32],
				b3[32],
				b4[32];
	PQExpBufferData current;
	int			i;

	if (pdomain == NULL || pmode < 0 || pmode > 1)
		return;
	if (!force && now - plast < interval)
		return;
	plast = now;

	total = pdomain->ntables;
	initPQExpBuffer(&current);
	for (i = 0; i < total; i++)
	{
		DomainTable *t = &pdomain->tables[i];
		double		tr = t->est_rows > 0 ? t->est_rows : 1;

		/* a copied table counts fully, whatever the estimate said */
		est_rows += Max(tr, t->rows_done);
		done_rows += t->state == TABLE_COPIED ? Max(tr, t->rows_done) : Min(tr, t->rows_done);
		rows += t->rows_done;
		if (t->state == TABLE_COPIED)
		{
			done++;
			bytes += t->bytes_done;
		}
		else
		{
			bytes += t->bytes_done;
			if (t->state == TABLE_COPYING)
				appendPQExpBuffer(&current, "%s%s %.0f%%", current.len ? ", " : "",
								  t->name, Min(100.0, 100.0 * t->rows_done / tr));
		}
	}
	/* by rows: reltuples estimates rows far better than sizes estimate COPY bytes */
	frac = est_rows > 0 ? Min(1.0, done_rows / est_rows) : 0;
	if (done == total)
		frac = 1.0;
	rate = now > pstart ? bytes / (now - pstart) : 0;
	eta = (frac > 0.01 && frac < 1.0) ? (now - pstart) * (1 - frac) / frac : (frac >= 1.0 ? 0 : -1);

	if (pmode == 1)
	{
		char		bar[31];
		int			filled = (int) (frac * 30);

		memset(bar, '=', filled);
		memset(bar + filled, ' ', 30 - filled);
		if (filled < 30)
			bar[filled] = '>';
		bar[30] = '\0';
		fprintf(stderr, "\r\033[K[%s] %3.0f%% %d/%d %s %lld %s %s %s/s ETA %s%s%s",
				bar, frac * 100, done, total, ngettext("table", "tables", total),
				rows, ngettext("row", "rows", rows),
				human_bytes(bytes, b1, sizeof(b1)), human_bytes(rate, b2, sizeof(b2)),
				human_duration(eta, b3, sizeof(b3)),
				current.len ? "  " : "", current.data);
		bar_drawn = true;
	}
	else
		fprintf(stderr, "progress: %d/%d %s, %lld %s, %s, %s/s, elapsed %s, ETA %s%s%s%s%s%s\n",
				done, total, ngettext("table", "tables", total),
				rows, ngettext("row", "rows", rows),
				human_bytes(bytes, b1, sizeof(b1)), human_bytes(rate, b2, sizeof(b2)),
				human_duration(now - pstart, b4, sizeof(b4)),
				human_duration(eta, b3, sizeof(b3)),
				current.len ? " (" : "", current.len ? pverb : "", current.len ? ": " : "",
				current.data, current.len ? ")" : "");
	termPQExpBuffer(&current);
}

void
progress_finish(void)
{
	if (pmode == 1 && bar_drawn)
		fprintf(stderr, "\n");
	pdomain = NULL;
}

/*
 * One line per table: state, rows, bytes, seconds (of which the COPY, the
 * keys and indexes built after it and the ANALYZE), rate, snapshot LSN.
 */
void
progress_summary(Domain *d)
{
	int			i;
	char		b1[32],
				b2[32];

	printf("%-40s %-8s %12s %10s %8s %8s %8s %8s %10s  %s\n",
		   "table", "state", "rows", "size", "seconds", "COPY", "indexes", "ANALYZE", "rate", "snapshot LSN");
	for (i = 0; i < d->ntables; i++)
	{
		DomainTable *t = &d->tables[i];
		char	   *name = psprintf("%s.%s", t->schema, t->name);
		const char *state = t->state == TABLE_COPIED ? "copied" :
			t->state == TABLE_FAILED ? "FAILED" : "pending";

		printf("%-40s %-8s %12lld %10s %8.2f %8.2f %8.2f %8.2f %8s/s  %s\n",
			   name, state, (long long) t->rows_done,
			   human_bytes(t->bytes_done, b1, sizeof(b1)), t->seconds,
			   t->copy_seconds, t->index_seconds, t->analyze_seconds,
			   human_bytes(t->seconds > 0 ? t->bytes_done / t->seconds : 0, b2, sizeof(b2)),
			   t->sync_lsn ? t->sync_lsn : "");
		if (t->error)
		{
			/* libpq's messages end in a newline, ours do not */
			size_t		len = strlen(t->error);

			while (len > 0 && t->error[len - 1] == '\n')
				len--;
			printf("    error: %.*s\n", (int) len, t->error);
		}
		pg_free(name);
	}
}
