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
from . import audit
from .db import utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
# Initial passwords are read off a screen or a letter: no look-alike characters.
_READABLE = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


class AccountError(RuleError):
    """A refusal of an account change: the field to correct and a Chinese reason."""


def _token_hash(token: str) -> str:
    # Tokens are long random strings: a fast hash is enough, and lets find_by_token use an index.
    return hashlib.sha256(token.encode()).hexdigest()


def initial_password() -> str:
    while True:
        candidate = "".join(secrets.choice(_READABLE) for _ in range(12))
        if _password_problem(candidate) is None:
            return candidate


def _password_problem(password: str) -> str | None:
    if len(password) < 8:
        return "密码至少 8 位"
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[0-9]", password)):
        return "密码须同时包含字母和数字"
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


async def by_username(db: AsyncDatabase, username: str) -> dict | None:
    return await db.accounts.find_one({"username": username})


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
        raise AccountError("old_password", "原密码不正确")
    if (problem := _password_problem(new_password or "")) is not None:
        raise AccountError("new_password", problem)
    if new_password == old_password:
        raise AccountError("new_password", "新密码不能与原密码相同")
    await db.accounts.update_one({"username": username}, {"$set": {
        "password_hash": _hasher.hash(new_password), "must_change_password": False, "password_changed_at": utcnow()}})
    await audit.record(db, actor=username, action="password_change", target={"username": username})


async def issue_token(db: AsyncDatabase, username: str, label: str = "", *, actor: str = "operator") -> str:
    """The plaintext token, shown once; only its hash is kept."""
    token = "rn_" + secrets.token_urlsafe(32)
    result = await db.accounts.update_one({"username": username}, {"$push": {"tokens": {
        "hash": _token_hash(token), "created_at": utcnow(), "label": label}}})
    if result.matched_count == 0:
        raise AccountError("username", f"账号 {username} 不存在")
    await audit.record(db, actor=actor, action="token_issue", target={"username": username}, detail={"label": label})
    return token


async def find_by_token(db: AsyncDatabase, token: str) -> dict | None:
    account = await db.accounts.find_one({"tokens.hash": _token_hash(token)})
    return None if account is None or account.get("disabled") else account
