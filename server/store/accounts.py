"""Accounts of people and integrations: roles and scope, argon2id passwords, bearer tokens kept only as hashes."""
from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..access import ROLES
from ..domain.rules import RuleError
from ..domain.vocabulary import COUNTIES
from . import audit, sessions
from .db import utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
# Initial passwords are read off a screen or a letter: no look-alike characters.
_READABLE = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


class AccountError(RuleError):
    """A refusal of an account change: the field to correct and a Chinese reason."""


class WrongPassword(AccountError):
    """The current password given was wrong: counted like a failed login."""


def _token_hash(token: str) -> str:
    # Tokens are long random strings: a fast hash is enough, and lets find_by_token use an index.
    return hashlib.sha256(token.encode()).hexdigest()


def initial_password() -> str:
    while True:
        candidate = "".join(secrets.choice(_READABLE) for _ in range(12))
        if _password_problem(candidate) is None:
            return candidate


# The rule as people read it (the password and registration pages show it; refusals say which part failed).
PASSWORD_RULE = "至少 10 位，包含大写字母、小写字母、数字、符号中的至少三类，且不能是常见密码"
PASSWORD_MIN = 10
# The most guessed passwords and their obvious variants (lowercased): long and mixed enough for the
# other rules, yet the first thing anyone tries.
COMMON_PASSWORDS = frozenset("""
password1! password123 password1234 passw0rd123 p@ssw0rd123 p@ssword123 qwerty1234 qwerty123! qwertyuiop1
1qaz2wsx3edc 1qaz@wsx3edc zaq12wsx!@ abc123456! abcd123456 abcd@12345 admin12345 admin@1234 admin123456
administrator1 welcome123 welcome@123 iloveyou123 changeme123 letmein1234 sunshine123 football123 monkey12345
woaini1314 woaini520! jiangmen123 jiangmen2026 zhigong123 shimingzhi1 realname123 demo123456 test123456
test@12345 aa123456789 a123456789 a1234567890 123456789a 1234567890a 123qweasd! qweasd123! asdfghjkl1
""".split())


def _password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"密码至少 {PASSWORD_MIN} 位"
    classes = sum(bool(re.search(pattern, password)) for pattern in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes < 3:
        return "密码须包含大写字母、小写字母、数字、符号中的至少三类"
    if password.lower() in COMMON_PASSWORDS or len(set(password.lower())) < 5:
        return "密码过于常见或重复字符过多，请换一个"
    return None


async def create_account(db: AsyncDatabase, *, username: str, role: str, project_id: int | None = None,
                         county: str | None = None, password: str | None = None,
                         must_change_password: bool = True, supplier_id: ObjectId | None = None,
                         enterprise_id: ObjectId | None = None) -> tuple[dict, str | None]:
    """Returns the account and, when no password was given, the generated one (shown once, never stored)."""
    if not USERNAME.match(username or ""):
        raise AccountError("username", "用户名须为 3–64 位字母、数字或 _ . @ -")
    if role not in ROLES:
        raise AccountError("role", f"角色须为 {', '.join(ROLES)} 之一")
    if role == "project":
        if project_id is None:
            raise AccountError("project", "项目账号须指定项目")
        if await db.projects.find_one({"_id": project_id}, {"_id": 1}) is None:
            raise AccountError("project", f"项目 {project_id} 不存在")
    elif project_id is not None:
        raise AccountError("project", "只有项目账号可以指定项目")
    if county is not None:
        if role != "supervisor":
            raise AccountError("county", "只有监管账号可以限定区县")
        if county not in COUNTIES:
            raise AccountError("county", f"区县须为 {', '.join(COUNTIES)} 之一")
    # A supplier or enterprise account acts for exactly one supplier / enterprise record.
    for needed_role, key, value in (("supplier", "supplier", supplier_id), ("enterprise", "enterprise", enterprise_id)):
        if role == needed_role and value is None:
            raise AccountError(key, f"{needed_role} 账号须指定所属{'供应商' if key == 'supplier' else '企业'}")
        if role != needed_role and value is not None:
            raise AccountError(key, f"只有 {needed_role} 账号可以指定")
    generated = None
    if password is None:
        password = generated = initial_password()
    elif (problem := _password_problem(password)) is not None:
        raise AccountError("password", problem)
    account = {"username": username, "role": role, "project_id": project_id, "county": county,
               "supplier_id": supplier_id, "enterprise_id": enterprise_id, "password_hash": _hasher.hash(password), "must_change_password": must_change_password,
               "disabled": False, "created_at": utcnow(), "tokens": []}
    try:
        await db.accounts.insert_one(account)
    except DuplicateKeyError:
        raise AccountError("username", f"用户名 {username} 已存在") from None
    return account, generated


def username_query(username: str) -> dict:
    return {"username": username}


async def by_username(db: AsyncDatabase, username: str) -> dict | None:
    return await db.accounts.find_one(username_query(username))


def verify_password(account: dict | None, password: str) -> bool:
    if account is None:
        # Same work as a real check, so response time does not tell which usernames exist.
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(account["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("not-a-password-0")


async def change_password(db: AsyncDatabase, username: str, old_password: str, new_password: str) -> None:
    account = await by_username(db, username)
    if account is None or not verify_password(account, old_password or ""):
        raise WrongPassword("old_password", "原密码不正确")
    if (problem := _password_problem(new_password or "")) is not None:
        raise AccountError("new_password", problem)
    if new_password == old_password:
        raise AccountError("new_password", "新密码不能与原密码相同")
    await db.accounts.update_one({"username": username}, {"$set": {
        "password_hash": _hasher.hash(new_password), "must_change_password": False, "password_changed_at": utcnow()}})
    await audit.record(db, actor=username, action="password_change", target={"username": username})
    # Whoever knew the old password may have issued themselves nothing, but a token copied with it
    # must end too; only tokens the operator issued to outlive a password change stay.
    await revoke_tokens(db, username, actor=username, reason="password_change", keep_marked=True)


async def issue_token(db: AsyncDatabase, username: str, label: str = "", *, actor: str = "operator",
                      keep_on_password_change: bool = False) -> str:
    """The plaintext token, shown once; only its hash is kept. An integration's token the operator
    means to survive its account's password changes says so (keep_on_password_change)."""
    token = "rn_" + secrets.token_urlsafe(32)
    entry = {"hash": _token_hash(token), "created_at": utcnow(), "label": label}
    if keep_on_password_change:
        entry["keep_on_password_change"] = True
    result = await db.accounts.update_one({"username": username}, {"$push": {"tokens": entry}})
    if result.matched_count == 0:
        raise AccountError("username", f"账号 {username} 不存在")
    await audit.record(db, actor=actor, action="token_issue", target={"username": username},
                       detail={"label": label, "token_id": token_id(entry), "keep_on_password_change": keep_on_password_change})
    return token


def token_id(entry: dict) -> str:
    """A token's public name: the start of its hash (enough to tell an account's tokens apart, useless to log in)."""
    return entry["hash"][:16]


def token_views(account: dict) -> list[dict]:
    return [{"id": token_id(t), "label": t.get("label", ""), "created_at": t.get("created_at"),
             "keep_on_password_change": bool(t.get("keep_on_password_change"))} for t in account.get("tokens", [])]


async def _must_exist(db: AsyncDatabase, username: str) -> dict:
    account = await by_username(db, username)
    if account is None:
        raise AccountError("username", f"账号 {username} 不存在")
    return account


async def revoke_tokens(db: AsyncDatabase, username: str, *, actor: str, reason: str, only: str | None = None,
                        keep_marked: bool = False) -> list[str]:
    """Remove the account's tokens (one, by id, when `only` is given); returns the ids removed, audited."""
    account = await _must_exist(db, username)
    removed = [t for t in account.get("tokens", [])
               if (only is None or token_id(t) == only) and not (keep_marked and t.get("keep_on_password_change"))]
    if only is not None and not removed:
        raise AccountError("token_id", f"账号 {username} 没有令牌 {only}")
    if removed:
        await db.accounts.update_one({"username": username},
                                     {"$pull": {"tokens": {"hash": {"$in": [t["hash"] for t in removed]}}}})
        await audit.record(db, actor=actor, action="token_revoke", target={"username": username},
                           detail={"token_ids": [token_id(t) for t in removed], "reason": reason})
    return [token_id(t) for t in removed]


async def set_disabled(db: AsyncDatabase, username: str, disabled: bool, *, actor: str,
                       keep_tokens: bool = False) -> dict:
    """停用 / 启用 an account. Disabling ends its sessions and, unless the operator keeps them
    (keep_tokens: they work again once the account is enabled), revokes its bearer tokens."""
    await _must_exist(db, username)
    await db.accounts.update_one({"username": username}, {"$set": {"disabled": disabled}})
    await audit.record(db, actor=actor, action="account_disable" if disabled else "account_enable",
                       target={"username": username}, detail={"keep_tokens": keep_tokens} if disabled else {})
    if disabled:
        await sessions.delete_others(db, username, keep=None)
        if not keep_tokens:
            await revoke_tokens(db, username, actor=actor, reason="account_disable")
    return await by_username(db, username)


def token_query(token: str) -> dict:
    return {"tokens.hash": _token_hash(token)}


async def find_by_token(db: AsyncDatabase, token: str) -> dict | None:
    account = await db.accounts.find_one(token_query(token))
    return None if account is None or account.get("disabled") else account
