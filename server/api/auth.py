"""Login with captcha, logout, password change and "who am I", for browsers (signed session cookie)."""
from __future__ import annotations

from ..store import accounts, audit, captchas, logins, sessions
from .base import SESSION_COOKIE, APIError, APIHandler
from .transport import PLAIN_HTTP_REFUSAL, session_cookie_secure
from .openapi import BOOL, INT, STR, arr, nullable, obj, operation

# No account name is longer (accounts.USERNAME); passwords get room for passphrases, not for megabytes.
USERNAME_MAX, PASSWORD_MAX = 64, 256


class CaptchaHandler(APIHandler):
    allowed_before_password_change = True

    async def get(self):
        self.write_json(await captchas.new(self.db, test_answer=self.config.captcha_test_answer))


class LoginHandler(APIHandler):
    # Logging in again (perhaps as someone else) must stay possible from a half-finished session.
    allowed_before_password_change = True

    async def post(self):
        body = self.json_body()
        username = self.text_field(body, "username", USERNAME_MAX)
        password = self.text_field(body, "password", PASSWORD_MAX)
        captcha_id, answer = self.text_field(body, "captcha_id", 64), self.text_field(body, "captcha", 16)
        ip = self.request.remote_ip
        secure = session_cookie_secure(self.request, self.config)
        if secure is None:
            await self._failed(username, "plain_http")
            raise APIError(403, "https_required", PLAIN_HTTP_REFUSAL)
        if await logins.address_blocked(self.db, ip):
            await self._failed(username, "address_blocked")
            raise APIError(429, "too_many_attempts", "该地址登录失败次数过多，请 15 分钟后再试")
        if not await captchas.check(self.db, captcha_id, answer):
            await self._failed(username, "captcha")
            raise APIError(400, "captcha_invalid", "验证码错误或已失效，请重新获取",
                           field="captcha")
        if await logins.account_locked(self.db, username, ip):
            await self._failed(username, "account_locked")
            raise APIError(429, "account_locked", "该账号在此地址登录失败次数过多，已锁定 30 分钟",
                           field="username")
        account = await accounts.by_username(self.db, username)
        if not accounts.verify_password(account, password) or account.get("disabled"):
            await logins.record_failure(self.db, username, ip)
            await self._failed(username, "password")
            raise APIError(401, "login_failed", "用户名或密码错误", field="password")
        await logins.forget(self.db, username, ip)
        session_id = await sessions.create(self.db, username)
        self.set_signed_cookie(SESSION_COOKIE, session_id, expires_days=None, secure=secure, httponly=True,
                               samesite="Strict", path="/")
        await audit.record(self.db, actor=username, action="login", detail={"ip": ip})
        self.write_json({"username": username, "role": account["role"],
                         "must_change_password": account["must_change_password"]})

    async def _failed(self, username: str, reason: str) -> None:
        await audit.record(self.db, actor=username, action="login_failure",
                           detail={"ip": self.request.remote_ip, "reason": reason})


class LogoutHandler(APIHandler):
    allowed_before_password_change = True

    async def post(self):
        if self.principal is not None and self.principal.session_id:
            await sessions.delete(self.db, self.principal.session_id)
            await audit.record(self.db, actor=self.principal.name, action="logout",
                               detail={"ip": self.request.remote_ip})
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.write_json({"ok": True})


class PasswordHandler(APIHandler):
    allowed_before_password_change = True

    async def post(self):
        if self.principal is None or self.principal.username is None:
            await self.refuse(401, "unauthorized", "需要以账号登录后才能修改密码")
        body = self.json_body()
        old, new = self.text_field(body, "old_password", PASSWORD_MAX), self.text_field(body, "new_password", PASSWORD_MAX)
        if self.text_field(body, "new_password_confirm", PASSWORD_MAX) != new:
            raise APIError(400, "invalid_argument", "两次输入的新密码不一致", field="new_password_confirm")
        username, ip = self.principal.username, self.request.remote_ip
        # Guessing the current password from a stolen session is guessing a password: same lockout as login.
        if await logins.address_blocked(self.db, ip) or await logins.account_locked(self.db, username, ip):
            await audit.record(self.db, actor=username, action="password_change_failure",
                               detail={"ip": ip, "reason": "locked"})
            raise APIError(429, "account_locked", "原密码错误次数过多，已锁定 30 分钟", field="old_password")
        try:
            await accounts.change_password(self.db, username, old, new)
        except accounts.WrongPassword as exc:
            await logins.record_failure(self.db, username, ip)
            await audit.record(self.db, actor=username, action="password_change_failure",
                               detail={"ip": ip, "reason": "old_password"})
            raise APIError(400, "invalid_argument", exc.message, field="old_password") from None
        except accounts.AccountError as exc:
            raise APIError(400, "invalid_argument", exc.message, field=exc.field) from None
        await logins.forget(self.db, username, ip)
        await sessions.delete_others(self.db, self.principal.username, keep=self.principal.session_id)
        self.write_json({"ok": True, "must_change_password": False})


class MeHandler(APIHandler):
    allowed_before_password_change = True

    async def get(self):
        p = self.principal
        if p is None:
            await self.refuse(401, "unauthorized", "需要登录或有效的访问令牌 (bearer token required)")
        self.write_json({"username": p.username or p.name, "role": p.role, "project_id": p.project_id,
                         "county": p.county, "must_change_password": p.must_change_password,
                         "permissions": sorted(p.permissions)})


default_handlers = [(r"/api/captcha", CaptchaHandler), (r"/api/login", LoginHandler), (r"/api/logout", LogoutHandler),
                    (r"/api/password", PasswordHandler), (r"/api/me", MeHandler)]

_login_ok = obj(["username", "role", "must_change_password"], username=STR, role=STR, must_change_password=BOOL)
openapi = {
    "/api/captcha": {"get": operation("获取图形验证码", tag="登录", public=True, errors=(),
                                      response=obj(["id", "image"], id=STR, image=STR))},
    "/api/login": {"post": operation(
        "账号密码 + 验证码登录，成功后设置会话 Cookie（经 HTTPS 或本机地址；明文 HTTP 访问他机时 403 https_required）",
        tag="登录", public=True, errors=(400, 401, 403, 429),
        body=obj(["username", "password", "captcha_id", "captcha"], username=STR, password=STR, captcha_id=STR,
                 captcha=STR), response=_login_ok)},
    "/api/logout": {"post": operation("退出登录", tag="登录", public=True, errors=(),
                                      response=obj(["ok"], ok=BOOL))},
    "/api/password": {"post": operation(
        "修改密码（首次登录须先修改）；原密码错误与登录失败一同计数、锁定", tag="登录", errors=(400, 401, 429),
        body=obj(["old_password", "new_password", "new_password_confirm"], old_password=STR, new_password=STR,
                 new_password_confirm=STR),
        response=obj(["ok"], ok=BOOL, must_change_password=BOOL))},
    "/api/me": {"get": operation("当前登录身份", tag="登录", errors=(401,), response=obj(
        ["username", "role"], username=STR, role=STR, project_id=nullable(INT), county=nullable(STR),
        must_change_password=BOOL, permissions=arr(STR)))},
}
