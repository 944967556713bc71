# Makefile for migration_split (PGXS)
#
# One shared library carries the SQL-callable functions, the runtime monitor
# (executor hooks, active only when preloaded) and the logical decoding output
# plugin.  The replication job is a separate client program with its own
# Makefile under src/job, built and installed from here.

MODULE_big = migration_split

# Object files, one line per responsibility, grouped by capability.
OBJS = \
	src/migration_split.o \
	src/ownership_cache.o \
	src/ownership.o \
	src/reports.o \
	src/report_columns.o \
	src/report_graph.o \
	src/loose_foreign_keys.o \
	src/catalog_now.o \
	src/monitor.o \
	src/monitor_stats.o \
	src/monitor_track.o \
	src/monitor_enforce.o \
	src/monitor_service.o \
	src/monitor_analyze.o \
	src/decoder.o \
	src/decoder_json.o

EXTENSION = migration_split
# 1.0 has shipped: its script is frozen.  The 1.1 install script and the
# 1.0 -> 1.1 update are assembled from one file per capability (src/sql).
DATA = migration_split--1.0.sql
DATA_built = migration_split--1.1.sql migration_split--1.0--1.1.sql
# extraction (the domain lifecycle) comes before monitor, whose per-domain
# view shows the lifecycle state.
SQL_CAPABILITIES = ownership reports extraction monitor summary boundaries
# Capabilities new in 1.1 (1.0 had none of their objects): the update adds
# their whole file, in its place in the order above, instead of a
# <capability>--1.0--1.1.sql, so that nothing is written twice.
SQL_NEW_CAPABILITIES = extraction boundaries
SQL_UPDATE_PARTS = $(foreach c,$(SQL_CAPABILITIES),$(if $(filter $(c),$(SQL_NEW_CAPABILITIES)),src/sql/$(c).sql,src/sql/$(c)--1.0--1.1.sql))
PGFILEDESC = "migration_split - split a monolith database by domain"

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
ifdef WERROR
PG_CFLAGS += -Werror
endif

# pg_regress suites.  Every suite runs against a private temporary instance
# that preloads the library and allows logical decoding (test/regress.conf).
REGRESS = \
	catalog \
	ownership \
	ownership_errors \
	ownership_privileges \
	suggestions \
	suggestions_trojans \
	fk_report \
	dependencies_report \
	domain_summary \
	report_cache \
	boundary_graph \
	generic_relations \
	generic_relations_django \
	loose_foreign_keys \
	loose_foreign_keys_trojans \
	loose_foreign_keys_ddl \
	loose_foreign_keys_errors \
	extraction_plan \
	reports_settings \
	reports_identifiers \
	suggest_moves \
	monitor \
	enforcement \
	service_binding \
	enforcement_cascades \
	enforcement_parallel \
	enforcement_tags \
	enforcement_views \
	enforcement_drops \
	enforcement_routing \
	monitor_multibyte \
	monitor_privileges \
	monitor_dictionary \
	monitor_retag \
	monitor_forget \
	analyze_statements \
	decoder_actions \
	decoder_types \
	decoder_ownership \
	decoder_partitions \
	decoder_errors \
	decoder_fastpaths \
	decoder_streaming \
	decoder_batch \
	decoder_rewrites \
	ownership_inheritance \
	lifecycle \
	freeze \
	read_path

REGRESS_OPTS = --temp-instance=tmp_check --temp-config=$(srcdir)/test/regress.conf \
	--temp-config=test/plugin_libraries.conf --load-extension=migration_split

ISOLATION = \
	ownership_concurrency \
	monitor_concurrent \
	monitor_eviction \
	monitor_retag_concurrent \
	allowlist_snapshot \
	allowlist_domain_rename \
	analyze_cancel \
	decoder_concurrent \
	freeze_concurrent \
	loose_foreign_keys_concurrent \
	loose_foreign_keys_tighten \
	loose_foreign_keys_partition_rr \
	generic_relations_temp
ISOLATION_OPTS = --temp-instance=tmp_check_iso --temp-config=$(srcdir)/test/isolation.conf \
	--temp-config=test/plugin_libraries.conf --load-extension=migration_split

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# The Debian build enables LLVM bitcode; clang may not be installed.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on every header of the library (PGXS tracks no
# dependencies: a stale object after a header change)
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# A definition that the update creates exactly as the install script does
# is written once, in the capability's file, between "--@begin NAME" and
# "--@end NAME"; the fragment says "--@insert NAME" in its place
# (src/sql/update-sections.awk).  The marker lines are in neither script.
SQL_MARKERS = /^--@(begin|end|insert) /

migration_split--1.1.sql: src/sql/header--1.1.sql $(foreach c,$(SQL_CAPABILITIES),src/sql/$(c).sql)
	awk '!$(SQL_MARKERS)' $^ > $@

migration_split--1.0--1.1.sql: src/sql/header--1.0--1.1.sql $(SQL_UPDATE_PARTS) $(foreach c,$(SQL_CAPABILITIES),src/sql/$(c).sql) src/sql/update-sections.awk
	{ cat src/sql/header--1.0--1.1.sql && \
	$(foreach c,$(SQL_CAPABILITIES),$(if $(filter $(c),$(SQL_NEW_CAPABILITIES)),awk '!$(SQL_MARKERS)' src/sql/$(c).sql,awk -f src/sql/update-sections.awk src/sql/$(c).sql src/sql/$(c)--1.0--1.1.sql) && ) true; } > $@.tmp && mv $@.tmp $@

# output_plugin_libraries for the test instances, only when the server knows
# the setting (recent 15 minor releases): test/plugin-libraries-conf.sh.
# Regenerated on every run, since PG_CONFIG may name another server.
test/plugin_libraries.conf: FORCE
	@mkdir -p test
	bash $(srcdir)/test/plugin-libraries-conf.sh "$(bindir)" pgoutput test_decoding migration_split > $@
installcheck: test/plugin_libraries.conf
FORCE:
EXTRA_CLEAN = test/plugin_libraries.conf

# Perl modules shared by the TAP tests (test/perl).
PG_PROVE_FLAGS += -I $(srcdir)/test/perl

# The replication job (client program) has its own PGXS Makefile.
all: job
job:
	$(MAKE) -C src/job PG_CONFIG=$(PG_CONFIG)
install: install-job
install-job:
	$(MAKE) -C src/job PG_CONFIG=$(PG_CONFIG) install
clean: clean-job
clean-job:
	$(MAKE) -C src/job PG_CONFIG=$(PG_CONFIG) clean

.PHONY: job install-job clean-job FORCE
