"""Who may do what and see which records: the platform's one access model.

- A role (ROLES) holds permissions (ROLE_PERMISSIONS), each a word of PERMISSIONS; every API
  method and page names the one permission it needs, and a caller without it is refused (403).
- A Principal is the caller: its role, permissions and the record it belongs to (project,
  county, supplier or enterprise). That record decides its scope (SCOPES, `scope_of`): the
  city, one county, one project, one supplier or one enterprise.
- Scope filters are plain query fragments to merge into a MongoDB query; a record outside them
  is answered as if it did not exist (404), so nobody can probe which numbers exist:

      db.projects.find({**access.project_filter(principal), "status": "在建"})
      query = access.restrict(access.project_filter(principal), _id=project_id)  # None: out of scope
      access.matches(access.project_filter(principal), project)                  # a loaded record

Nothing here imports Tornado or the API: the web process, dashboards, notebooks and workers all
use this module as it is. docs/access.md describes the roles for people.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from bson import ObjectId

ROLES = ("supervisor", "project", "supplier", "enterprise", "analyst", "admin")

# Every permission a handler or page may name; requires() refuses any other word when its module loads.
PERMISSIONS: dict[str, str] = {
    "projects:read": "see projects in scope",
    "projects:write": "edit projects in scope",
    "projects:manage": "register and cancel projects, export the library",
    "declarations:review": "项目申报审核, 发账号",
    "accounts:issue": "issue project and enterprise accounts",
    "enterprises:read": "企业库",
    "enterprises:write": "register and edit enterprises",
    "workforce:read": "units, teams, roster",
    "workforce:write": "enter and exit units, teams, workers",
    "people:read": "the person library",
    "people:unmask": "personal data in full (each view audited)",
    "contracts:read": "contracts without scans",
    "contracts:write": "register contracts, replace scans",
    "contracts:download": "contract scans (each download audited)",
    "punches:read": "attendance",
    "photos:read": "punch and ID photos (each view audited)",
    "devices:read": "devices and monitoring in scope",
    "supplier:self": "a supplier's own profile, scopes and applications",
    "suppliers:review": "business scope and device access review",
    "audit:read": "search the audit log",
    "dashboards:read": "the supervisors' dashboards (/dash/)",
    "accounts:manage": "disable and enable accounts, list and revoke their tokens (the operator's)",
}
ALL = "*"  # the admin's: every permission

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "supervisor": frozenset({"projects:read", "projects:write", "projects:manage", "declarations:review",
                             "accounts:issue", "enterprises:read", "enterprises:write", "workforce:read",
                             "people:read", "people:unmask", "contracts:read", "contracts:download",
                             "punches:read", "photos:read", "devices:read", "suppliers:review", "audit:read",
                             "dashboards:read"}),
    "project": frozenset({"projects:read", "projects:write", "enterprises:read", "enterprises:write",
                          "workforce:read", "workforce:write", "people:read", "people:unmask", "contracts:read",
                          "contracts:write", "contracts:download", "punches:read", "photos:read", "devices:read"}),
    # devices:read is scoped: a project sees its project's devices, a supplier the devices it supplied.
    "supplier": frozenset({"supplier:self", "devices:read"}),
    "enterprise": frozenset({"enterprises:read"}),
    # Analysts read everything in scope, with personal data masked and no photos or contract scans.
    "analyst": frozenset({"projects:read", "enterprises:read", "workforce:read", "people:read", "contracts:read",
                          "punches:read", "devices:read", "dashboards:read"}),
    "admin": frozenset({ALL}),
}

SCOPES = ("city", "county", "project", "supplier", "enterprise", "none")


def check_permission(permission: str) -> str:
    """The permission itself when it is a word of PERMISSIONS; a typo fails where it is written."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}: not in server.access.PERMISSIONS")
    return permission


for _role, _granted in ROLE_PERMISSIONS.items():  # the table itself is held to the vocabulary
    if _role not in ROLES:
        raise ValueError(f"ROLE_PERMISSIONS names unknown role {_role!r}")
    for _permission in _granted - {ALL}:
        check_permission(_permission)


@dataclasses.dataclass(frozen=True)
class Principal:
    name: str
    role: str
    permissions: frozenset[str]
    username: str | None = None
    project_id: int | None = None
    county: str | None = None
    must_change_password: bool = False
    session_id: str | None = None
    supplier_id: ObjectId | None = None
    enterprise_id: ObjectId | None = None

    @classmethod
    def for_role(cls, role: str, name: str | None = None, **scope: Any) -> "Principal":
        """A principal with the role's permissions (workers and notebooks act as one of these)."""
        return cls(name or role, role, ROLE_PERMISSIONS.get(role, frozenset()), **scope)

    @classmethod
    def from_account(cls, account: dict, session_id: str | None = None) -> "Principal":
        return cls.for_role(account["role"], account["username"], username=account["username"],
                            project_id=account.get("project_id"), county=account.get("county"),
                            must_change_password=bool(account.get("must_change_password")),
                            session_id=session_id, supplier_id=account.get("supplier_id"),
                            enterprise_id=account.get("enterprise_id"))

    def may(self, permission: str) -> bool:
        return ALL in self.permissions or permission in self.permissions


def scope_of(principal: Principal) -> str:
    """city: supervisors without a county, analysts, admins; county: a county supervisor; project,
    supplier, enterprise: that account's own record; none: anything else (sees nothing)."""
    if principal.role == "supervisor":
        return "county" if principal.county else "city"
    if principal.role in ("analyst", "admin"):
        return "city"
    if principal.role in ("project", "supplier", "enterprise"):
        return principal.role
    return "none"


def nothing(field: str = "_id") -> dict:
    """A filter no record matches."""
    return {field: {"$in": []}}


def county_of(principal: Principal) -> str | None:
    """The one county a county supervisor is limited to; None for everyone else."""
    return principal.county if scope_of(principal) == "county" else None


def may_move_county(principal: Principal) -> bool:
    """Moving a project to another county changes who supervises it: the city level only."""
    return principal.may("projects:manage") and county_of(principal) is None


def county_filter(principal: Principal, field: str = "county") -> dict:
    """Records carrying a county (declarations, mails, device access): a county supervisor its
    county's, the city level all, project, supplier and enterprise accounts none."""
    kind = scope_of(principal)
    if kind == "city":
        return {}
    if kind == "county":
        return {field: principal.county}
    return nothing(field)


def project_filter(principal: Principal) -> dict:
    """The projects a principal sees, as a query on `projects`: its own project, its county's, or
    the city's; suppliers and enterprises see none through this filter (theirs are below)."""
    kind = scope_of(principal)
    if kind == "project":
        return {"_id": principal.project_id}
    if kind in ("city", "county"):
        return county_filter(principal)
    return nothing()


def supplier_filter(principal: Principal, field: str = "supplier_id") -> dict:
    """Records of the caller's own supplier (its applications, its devices); none without one."""
    return {field: principal.supplier_id} if principal.supplier_id is not None else nothing(field)


def enterprise_filter(principal: Principal, field: str = "_id") -> dict:
    """The 企业库 the caller sees: an enterprise account its own enterprise, everyone else the whole
    library (it is city-wide: units of every project pick from it)."""
    if scope_of(principal) == "enterprise":
        return {field: principal.enterprise_id}
    return {}


def _allowed(condition: Any) -> tuple[bool, list]:
    """(is an $in list, its values) for the two kinds of condition these filters hold."""
    if isinstance(condition, dict):
        if set(condition) != {"$in"}:
            raise ValueError(f"scope filters hold values or $in lists, not {condition!r}")
        return True, list(condition["$in"])
    return False, [condition]


def restrict(scope: dict, **wanted: Any) -> dict | None:
    """The scope narrowed by equality (or $in) conditions, as one query; None when no record can
    satisfy both (a project account asking for another project), so the caller skips the query.

    Unlike {**scope, **wanted}, a wanted value never overrides the scope's own condition on a field.
    """
    query = dict(scope)
    for field, condition in wanted.items():
        if field not in query:
            query[field] = condition
            continue
        (scope_is_list, have), (wanted_is_list, want) = _allowed(query[field]), _allowed(condition)
        both = [v for v in want if v in have]
        if not both:
            return None
        query[field] = {"$in": both} if scope_is_list and wanted_is_list else both[0]
    return query


def matches(scope: dict, doc: dict) -> bool:
    """Whether a record already loaded is inside a scope filter."""
    for field, condition in scope.items():
        if doc.get(field) not in _allowed(condition)[1]:
            return False
    return True
