"""Every setting of the platform, read from the environment in one place.

The README's settings table is generated from SETTINGS below (``realname settings``), so the
documentation cannot drift from the code.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS = (
    Setting("MONGODB_URI", "", "MongoDB to use. Unset: start the embedded SecantusDB server as a child process."),
    Setting("REALNAME_DB_NAME", "realname", "Database name inside that server."),
    Setting("REALNAME_DATA_DIR", "./var", "Folder for the embedded database's files and logs; kept across restarts."),
    Setting("REALNAME_EMBEDDED_DB_PORT", "27018", "Port of the embedded database (loopback only); 0 picks a free one."),
    Setting("REALNAME_GATEWAY_HOST", "0.0.0.0", "Address the device gateway listens on."),
    Setting("REALNAME_GATEWAY_PORT", "20028", "TCP port for attendance devices (江门实名设备直连对接标准 V1.0)."),
    Setting("REALNAME_WEB_HOST", "0.0.0.0", "Address the web process listens on."),
    Setting("REALNAME_WEB_PORT", "8080", "HTTP port of the REST API and pages."),
    Setting("REALNAME_ADMIN_TOKEN", "", "Bearer token for integrations; generated and printed at start when unset."),
    Setting("REALNAME_CHECKSUM", "lenient", "Device checksums: 'lenient' counts bad ones and accepts, 'strict' refuses."),
    Setting("REALNAME_IDLE_TIMEOUT", "180", "Seconds without any frame after which a device connection is closed."),
    Setting("REALNAME_LOGIN_TIMEOUT", "30", "Seconds a new connection has to log in (843)."),
    Setting("REALNAME_SPLIT_TIMEOUT", "30", "Seconds a split (PartCount > 1) message may wait for its remaining parts."),
    Setting("REALNAME_MAX_CONTENT", "1048576", "Largest frame Content or joined split message accepted, in bytes."),
    Setting("REALNAME_PUNCH_PHOTO_MAX", "51200", "Largest punch photo (848) accepted, in bytes (the standard: 50 KB)."),
    Setting("REALNAME_ID_PHOTO_MAX", "30720", "Largest ID-card photo (852) accepted, in bytes (the standard: 30 KB)."),
    Setting("REALNAME_CLOCK_FUTURE_MINUTES", "10", "A punch time further ahead of the receive time is flagged implausible."),
    Setting("REALNAME_CLOCK_PAST_DAYS", "30", "A punch time further behind the receive time is flagged implausible."),
    Setting("REALNAME_STATS_FLUSH_SECONDS", "10", "How often the gateway writes its counters and its liveness; devices of a gateway silent for 3× this plus 5 s show offline."),
    Setting("REALNAME_DEVICE_SYNC_SECONDS", "3", "How often the gateway re-checks its devices (replaced elsewhere, removed)."),
    Setting("REALNAME_PUNCH_BATCH_MAX", "256", "Most punches written together in one grouped database write."),
    Setting("REALNAME_COOKIE_SECRET", "", "Key signing session cookies; unset: generated once into $REALNAME_DATA_DIR/cookie_secret (mode 600) so restarts keep sessions."),
    Setting("REALNAME_SESSION_IDLE_MINUTES", "30", "Minutes a login session may stay unused before it is refused."),
    Setting("REALNAME_CAPTCHA_TEST_ANSWER", "", "Tests only: when set, every login captcha's answer is this text. Leave empty in production."),
    Setting("REALNAME_CONTRACT_MAX_MB", "10", "Largest contract scan (合同扫描件, PDF) accepted, in MB; kept in the database."),
    Setting("REALNAME_SMTP_HOST", "", "Mail server for result e-mails (项目申报 results); unset: mails stay queued in the outbox."),
    Setting("REALNAME_SMTP_PORT", "25", "Port of that mail server (plain SMTP, as inside a government network)."),
    Setting("REALNAME_PLATFORM_START", "2022-01-01", "First site day the platform holds attendance for; the dashboards refuse earlier dates."),
    Setting("REALNAME_KEY_POST_STANDARD", "80", "A key post's monthly attendance standard in percent (管理人员月出勤不达标 below it)."),
    Setting("REALNAME_SMTP_FROM", "noreply@jmzhgd.jiangmen.cn", "Sender address of the platform's e-mails."),
)

_DEFAULTS = {s.env: s.default for s in SETTINGS}


def _get(env: dict[str, str], name: str) -> str:
    return env.get(name, _DEFAULTS[name])


@dataclasses.dataclass(frozen=True)
class Config:
    mongodb_uri: str
    db_name: str
    data_dir: Path
    embedded_db_port: int
    gateway_host: str
    gateway_port: int
    web_host: str
    web_port: int
    admin_token: str
    strict_checksum: bool
    idle_timeout: float
    login_timeout: float
    split_timeout: float
    max_content: int
    punch_photo_max: int
    id_photo_max: int
    clock_future_minutes: float
    clock_past_days: float
    stats_flush_seconds: float
    device_sync_seconds: float
    punch_batch_max: int
    admin_token_generated: bool = False
    cookie_secret: str = ""
    session_idle_minutes: float = 30.0
    captcha_test_answer: str = ""
    contract_max_mb: int = 10
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "noreply@jmzhgd.jiangmen.cn"
    platform_start: str = "2022-01-01"
    key_post_standard: float = 80.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Config":
        env = dict(os.environ if env is None else env)
        checksum = _get(env, "REALNAME_CHECKSUM").strip().lower()
        if checksum not in ("lenient", "strict"):
            raise ValueError(f"REALNAME_CHECKSUM must be 'lenient' or 'strict', not {checksum!r}")
        token = _get(env, "REALNAME_ADMIN_TOKEN")
        values = dict(
            mongodb_uri=_get(env, "MONGODB_URI"),
            db_name=_get(env, "REALNAME_DB_NAME"),
            data_dir=Path(_get(env, "REALNAME_DATA_DIR")).resolve(),
            embedded_db_port=int(_get(env, "REALNAME_EMBEDDED_DB_PORT")),
            gateway_host=_get(env, "REALNAME_GATEWAY_HOST"),
            gateway_port=int(_get(env, "REALNAME_GATEWAY_PORT")),
            web_host=_get(env, "REALNAME_WEB_HOST"),
            web_port=int(_get(env, "REALNAME_WEB_PORT")),
            admin_token=token or secrets.token_urlsafe(24),
            admin_token_generated=not token,
            strict_checksum=checksum == "strict",
            idle_timeout=float(_get(env, "REALNAME_IDLE_TIMEOUT")),
            login_timeout=float(_get(env, "REALNAME_LOGIN_TIMEOUT")),
            split_timeout=float(_get(env, "REALNAME_SPLIT_TIMEOUT")),
            max_content=int(_get(env, "REALNAME_MAX_CONTENT")),
            punch_photo_max=int(_get(env, "REALNAME_PUNCH_PHOTO_MAX")),
            id_photo_max=int(_get(env, "REALNAME_ID_PHOTO_MAX")),
            clock_future_minutes=float(_get(env, "REALNAME_CLOCK_FUTURE_MINUTES")),
            clock_past_days=float(_get(env, "REALNAME_CLOCK_PAST_DAYS")),
            stats_flush_seconds=float(_get(env, "REALNAME_STATS_FLUSH_SECONDS")),
            device_sync_seconds=float(_get(env, "REALNAME_DEVICE_SYNC_SECONDS")),
            punch_batch_max=int(_get(env, "REALNAME_PUNCH_BATCH_MAX")),
            cookie_secret=_get(env, "REALNAME_COOKIE_SECRET"),
            session_idle_minutes=float(_get(env, "REALNAME_SESSION_IDLE_MINUTES")),
            captcha_test_answer=_get(env, "REALNAME_CAPTCHA_TEST_ANSWER"),
            contract_max_mb=int(_get(env, "REALNAME_CONTRACT_MAX_MB")),
            smtp_host=_get(env, "REALNAME_SMTP_HOST"),
            smtp_port=int(_get(env, "REALNAME_SMTP_PORT")),
            smtp_from=_get(env, "REALNAME_SMTP_FROM"),
            platform_start=_get(env, "REALNAME_PLATFORM_START"),
            key_post_standard=float(_get(env, "REALNAME_KEY_POST_STANDARD")),
        )
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)


def resolve_cookie_secret(config: Config) -> str:
    """The configured secret, or the one kept in the data folder (created on first use).

    Kept on disk rather than generated per start: a new secret would log everybody out at every restart.
    """
    if config.cookie_secret:
        return config.cookie_secret
    path = config.data_dir / "cookie_secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole to a private temporary file, then linked into place: link() fails if the
        # name exists, so of processes starting together (serve starts several) exactly one
        # secret wins, and nobody can read a half-written file.
        tmp = path.with_name(f".cookie_secret.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def settings_markdown() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)
