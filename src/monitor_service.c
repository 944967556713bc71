/*-------------------------------------------------------------------------
 *
 * monitor_service.c
 *		The service a session acts for and the enforcement level that
 *		applies to it: the administrator's binding, and what the session
 *		may change of it.
 *
 * A binding is a setting of migration_split.service and/or
 * migration_split.enforce made with ALTER ROLE ... [IN DATABASE ...] SET,
 * ALTER DATABASE ... SET or ALTER ROLE ALL SET, i.e. a row of
 * pg_db_role_setting, read here directly with the precedence PostgreSQL
 * gives those rows at connection start (role in this database, role,
 * database, all).  The binding of a session is the one of its login role
 * (the session user), so SET ROLE and SECURITY DEFINER functions do not
 * change it.
 *
 * For a session whose login role is neither a superuser nor a member of
 * migration_split_admin, the binding wins over the session's own settings,
 * however they were made (SET, set_config(), RESET, DISCARD, a function's
 * SET clause, connection options): the service is the bound service, and
 * the level is the stricter of the bound level and the session's.  Trying
 * to SET another service fails, so the session sees the setting it gets;
 * ALTER ROLE/DATABASE ... SET or RESET of migration_split.* settings, and
 * RESET ALL of settings other than a free role's own, are refused in the
 * utility hook for every session that is no administrator, so a service
 * cannot undo its binding for its next sessions either (a role may change
 * its own settings; a CREATEROLE role those of others).
 * Superusers and administrators act as whatever service they set, or as
 * none.
 *
 * The binding is read once per login role and backend, at the first
 * statement that needs it; like the settings themselves, a changed binding
 * applies to new sessions.  Reads use systable scans (catalog snapshot),
 * never SQL, so nothing here runs user code.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_db_role_setting.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "monitor.h"

#define MS_ADMIN_ROLE_NAME	"migration_split_admin"

typedef struct MsBinding
{
	bool		valid;
	Oid			userid;			/* session user it was read for */
	char		service[NAMEDATALEN];	/* "" when no service is bound */
	int			enforce;		/* MsEnforceMode, or -1 when not bound */
} MsBinding;

static MsBinding binding = {false, InvalidOid, "", -1};

/* The login role whose binding was read and is none (see monitor.h). */
Oid			ms_unbound_user = InvalidOid;

/* Parse an enforce value as the GUC does; -1 when not valid. */
static int
ms_parse_enforce(const char *value)
{
	if (pg_strcasecmp(value, "off") == 0 || pg_strcasecmp(value, "false") == 0 ||
		pg_strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0)
		return MS_ENFORCE_OFF;
	if (pg_strcasecmp(value, "warn") == 0)
		return MS_ENFORCE_WARN;
	if (pg_strcasecmp(value, "error") == 0)
		return MS_ENFORCE_ERROR;
	return -1;
}

/*
 * Look at the settings of one pg_db_role_setting row (dbid, roleid) and
 * take the migration_split ones not yet found.
 */
static void
ms_binding_scan_row(Relation rel, Oid dbid, Oid roleid, bool *have_service,
					bool *have_enforce)
{
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key[0], Anum_pg_db_role_setting_setdatabase,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(dbid));
	ScanKeyInit(&key[1], Anum_pg_db_role_setting_setrole,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(roleid));
	scan = systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true,
							  NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d;
		Datum	   *elems;
		int			nelems;
		int			i;

		d = heap_getattr(tup, Anum_pg_db_role_setting_setconfig,
						 RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, NULL, &nelems);
		for (i = 0; i < nelems; i++)
		{
			char	   *item = TextDatumGetCString(elems[i]);
			char	   *eq = strchr(item, '=');

			if (eq == NULL)
				continue;
			*eq = '\0';
			if (!*have_service &&
				pg_strcasecmp(item, "migration_split.service") == 0)
			{
				strlcpy(binding.service, eq + 1, NAMEDATALEN);
				*have_service = true;
			}
			else if (!*have_enforce &&
					 pg_strcasecmp(item, "migration_split.enforce") == 0)
			{
				binding.enforce = ms_parse_enforce(eq + 1);
				*have_enforce = true;
			}
			pfree(item);
		}
	}
	systable_endscan(scan);
}

/*
 * Read the binding of the session's login role in this database, unless
 * already read for it.
 */
static void
ms_binding_load(void)
{
	Oid			userid = GetSessionUserId();
	Relation	rel;
	bool		have_service = false;
	bool		have_enforce = false;

	if (binding.valid && binding.userid == userid)
		return;

	binding.service[0] = '\0';
	binding.enforce = -1;
	rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	ms_binding_scan_row(rel, MyDatabaseId, userid, &have_service, &have_enforce);
	ms_binding_scan_row(rel, InvalidOid, userid, &have_service, &have_enforce);
	ms_binding_scan_row(rel, MyDatabaseId, InvalidOid, &have_service, &have_enforce);
	ms_binding_scan_row(rel, InvalidOid, InvalidOid, &have_service, &have_enforce);
	table_close(rel, AccessShareLock);

	binding.userid = userid;
	binding.valid = true;
	/* every statement asks: ms_service_effective answers this at once */
	ms_unbound_user = (binding.service[0] == '\0' && binding.enforce < 0) ?
		userid : InvalidOid;
}

/*
 * Is the session's login role a superuser or a member of
 * migration_split_admin?  Those act as any service or none.
 */
bool
ms_session_is_admin(void)
{
	Oid			userid = GetSessionUserId();
	Oid			admin;

	if (superuser_arg(userid))
		return true;
	admin = get_role_oid(MS_ADMIN_ROLE_NAME, true);
	return OidIsValid(admin) && is_member_of_role(userid, admin);
}

/*
 * Does a binding hold this session?  Reads the binding on first use; must
 * run inside a transaction.
 */
static bool
ms_binding_holds(void)
{
	ms_binding_load();
	if (binding.service[0] == '\0' && binding.enforce < 0)
		return false;
	return !ms_session_is_admin();
}

/*
 * The service the current statement acts for ("" for none) and the
 * enforcement level that applies to it, when ms_service_effective (monitor.h)
 * cannot answer from ms_unbound_user: the binding is not read yet for this
 * login role, or there is one.
 */
void
ms_service_effective_slow(const char **service, int *level)
{
	*service = ms_service ? ms_service : "";
	*level = ms_enforce;
	if (!IsTransactionState() || !ms_binding_holds())
		return;
	if (binding.service[0] != '\0')
		*service = binding.service;
	if (binding.enforce > *level)
		*level = binding.enforce;
}

/*
 * Check hook of migration_split.service: the empty string (no service) or a
 * valid domain name, by the rule of the CHECK constraint on
 * migration_split.domains, so that a misspelt or wrongly cased name fails
 * where it is set instead of denying the service its own tables.  Whether
 * the domain exists is not checked: the hook also runs at connection start
 * and for ALTER ROLE ... SET, where the catalog may not be readable.
 *
 * In a session held by a binding to a service, setting any other service
 * (SET, set_config(), a function's SET clause) fails.
 */
bool
ms_check_service(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;
	bool		valid = false;

	if (p == NULL || *p == '\0')
		valid = true;
	else if (strlen(p) < NAMEDATALEN &&
			 ((*p >= 'a' && *p <= 'z') || *p == '_'))
	{
		for (p++; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
				  *p == '_'))
				break;
		valid = (*p == '\0');
	}
	if (!valid)
	{
		GUC_check_errdetail("Domain names are lower-case identifiers of at most 63 characters.");
		GUC_check_errhint("Set it to the name of a row of migration_split.domains, or to an empty string for no service.");
		return false;
	}

	if (source == PGC_S_SESSION && IsTransactionState() &&
		ms_binding_holds() && binding.service[0] != '\0' &&
		strcmp(*newval ? *newval : "", binding.service) != 0)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("permission denied to change the service of this session");
		GUC_check_errdetail("Role \"%s\" is bound to service \"%s\" by an administrator.",
							GetUserNameFromId(GetSessionUserId(), false),
							binding.service);
		GUC_check_errhint("Only superusers and members of migration_split_admin can act as another service or none.");
		return false;
	}
	return true;
}

/*
 * Refuse ALTER ROLE/DATABASE ... SET or RESET of migration_split settings,
 * and RESET ALL other than of a free role's own settings, by a session
 * that is not an administrator: a service could otherwise remove its own
 * binding for its next sessions (a role may change its own settings), and
 * a CREATEROLE role the bindings of others.
 */
void
ms_service_check_utility(Node *stmt)
{
	VariableSetStmt *setstmt;

	if (IsA(stmt, AlterRoleSetStmt))
		setstmt = ((AlterRoleSetStmt *) stmt)->setstmt;
	else if (IsA(stmt, AlterDatabaseSetStmt))
		setstmt = ((AlterDatabaseSetStmt *) stmt)->setstmt;
	else
		return;

	if (setstmt == NULL)
		return;
	if (setstmt->kind == VAR_RESET_ALL)
	{
		/* a role that is held by no binding may reset its own settings */
		if (IsA(stmt, AlterRoleSetStmt) &&
			((AlterRoleSetStmt *) stmt)->role != NULL &&
			get_rolespec_oid(((AlterRoleSetStmt *) stmt)->role, true) ==
			GetSessionUserId() &&
			((AlterRoleSetStmt *) stmt)->database == NULL &&
			!ms_binding_holds())
			return;
	}
	else if (setstmt->name == NULL ||
			 pg_strncasecmp(setstmt->name, "migration_split.", 16) != 0)
		return;
	if (ms_session_is_admin())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to change migration_split settings of roles or databases"),
			 errdetail("The settings of migration_split bind services to their domains."),
			 errhint("Only superusers and members of migration_split_admin can change them.")));
}
