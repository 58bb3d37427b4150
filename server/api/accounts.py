"""Operators' account controls: list and revoke an account's bearer tokens, disable and enable it.

Only the operator (the admin role or admin token) holds `accounts:manage`; every change is audited
by the store with who did it.
"""
from __future__ import annotations

from ..store import accounts
from .base import APIError, APIHandler, requires
from .openapi import BOOL, DATETIME, STR, arr, obj, operation, path_param

_USERNAME = r"([A-Za-z0-9_.@-]{1,64})"


class _AccountHandler(APIHandler):
    async def account(self, username: str) -> dict:
        account = await accounts.by_username(self.db, username)
        if account is None:
            raise APIError(404, "not_found", f"账号 {username} 不存在", field="username")
        return account

    def view(self, account: dict, **extra) -> None:
        self.write_json({"username": account["username"], "disabled": bool(account.get("disabled")),
                         "tokens": accounts.token_views(account), **extra})


class TokensHandler(_AccountHandler):
    @requires("accounts:manage")
    async def get(self, username: str):
        self.view(await self.account(username))


class TokenHandler(_AccountHandler):
    @requires("accounts:manage")
    async def delete(self, username: str, token_id: str):
        await self.account(username)
        try:
            revoked = await accounts.revoke_tokens(self.db, username, actor=self.principal.name, reason="revoked",
                                                   only=token_id)
        except accounts.AccountError:
            raise APIError(404, "not_found", f"令牌 {token_id} 不存在", field="token_id") from None
        self.view(await self.account(username), revoked=revoked)


class DisableHandler(_AccountHandler):
    @requires("accounts:manage")
    async def post(self, username: str):
        body = self.json_body()
        keep = body.get("keep_tokens", False)
        if not isinstance(keep, bool):
            raise APIError(400, "invalid_argument", "须为 true 或 false", field="keep_tokens")
        await self.account(username)
        self.view(await accounts.set_disabled(self.db, username, True, actor=self.principal.name, keep_tokens=keep))


class EnableHandler(_AccountHandler):
    @requires("accounts:manage")
    async def post(self, username: str):
        await self.account(username)
        self.view(await accounts.set_disabled(self.db, username, False, actor=self.principal.name))


default_handlers = [(rf"/api/accounts/{_USERNAME}/tokens", TokensHandler),
                    (rf"/api/accounts/{_USERNAME}/tokens/([0-9a-f]{{1,64}})", TokenHandler),
                    (rf"/api/accounts/{_USERNAME}/disable", DisableHandler),
                    (rf"/api/accounts/{_USERNAME}/enable", EnableHandler)]

_TAG = "账号"
_USER = path_param("username", {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{1,64}$"})
_TOKENS = obj(["username", "disabled", "tokens"], username=STR, disabled=BOOL, revoked=arr(STR), tokens=arr(obj(
    ["id", "label"], id=STR, label=STR, created_at=DATETIME, keep_on_password_change=BOOL)))
openapi = {
    "/api/accounts/{username}/tokens": {"get": operation(
        "账号的访问令牌（只列编号和说明，令牌本身不保存）", tag=_TAG,
        params=[_USER], response=_TOKENS, errors=(404,))},
    "/api/accounts/{username}/tokens/{token_id}": {"delete": operation(
        "吊销一个访问令牌（记入审计日志）", tag=_TAG,
        params=[_USER, path_param("token_id", {"type": "string", "pattern": "^[0-9a-f]{1,64}$"})],
        response=_TOKENS, errors=(404,))},
    "/api/accounts/{username}/disable": {"post": operation(
        "停用账号：结束其会话，并吊销其访问令牌（keep_tokens: true 时保留，启用后可再用）", tag=_TAG,
        params=[_USER], body=obj([], keep_tokens=BOOL), response=_TOKENS,
        errors=(400, 404))},
    "/api/accounts/{username}/enable": {"post": operation(
        "启用账号", tag=_TAG, params=[_USER], response=_TOKENS, errors=(404,))},
}
