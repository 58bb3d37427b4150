"""`realname`: the one entry point — serve, gateway, web, worker, dashboards, db, device, account, seed-demo, simulate, bench, demo, province-sim."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .config import Config, settings_markdown


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)


def _with_database(config: Config, coroutine_factory, *, app_name: str):
    """Run coroutine_factory(db) against the configured (or embedded) database."""
    from .store.db import open_database
    from .store.launch import database_uri

    async def main(uri: str):
        client, db = await open_database(uri, config.db_name, app_name=app_name)
        try:
            return await coroutine_factory(db)
        finally:
            await client.close()

    with database_uri(config) as uri:
        return asyncio.run(main(uri))


def cmd_gateway(args, config: Config) -> int:
    from .device.gateway import run_gateway
    _with_database(config, lambda db: run_gateway(config, db), app_name="realname-gateway")
    return 0


def cmd_web(args, config: Config) -> int:
    from .api.app import run_web
    _print_token(config)
    _with_database(config, lambda db: run_web(config, db), app_name="realname-web")
    return 0


def cmd_dashboards(args, config: Config) -> int:
    from .store.launch import database_uri
    import waitress

    from dashboards.app import create_app
    with database_uri(config) as uri:
        app = create_app(config, uri)
        # Loopback only: the web process is the one door (it signs who is calling).
        waitress.serve(app.server, host="127.0.0.1", port=config.dash_port, threads=8, ident="realname-dashboards")
    return 0


def cmd_worker(args, config: Config) -> int:
    from .workers.runner import run_worker
    _with_database(config, lambda db: run_worker(config, db), app_name="realname-worker")
    return 0


def _print_token(config: Config) -> None:
    if config.admin_token_generated:
        print(f"REALNAME_ADMIN_TOKEN was not set; this run's admin token is: {config.admin_token}", flush=True)


def cmd_serve(args, config: Config) -> int:
    from .processes import serve
    return serve(config)


def cmd_db(args, config: Config) -> int:
    from .processes import run_database_only
    return run_database_only(config)


def cmd_demo(args, config: Config) -> int:
    from .processes import demo
    return demo(config, devices=args.devices)


def cmd_device(args, config: Config) -> int:
    from .domain.site_clock import site_time_text
    from .store import devices

    async def add(db):
        try:
            doc = await devices.register(db, project_id=args.project, vendor_code=args.vendor_code,
                                         device_id=args.device_id, registered_by="operator")
        except devices.DeviceError as exc:
            print(f"错误: {exc}", file=sys.stderr)
            return 2
        print(f"已注册设备 {doc['vendor_code']}/{doc['device_id']} → 项目 {doc['project_id']} (registered by operator)")
        print(devices.login_forms(doc["vendor_code"], doc["device_id"]))
        return 0

    async def show(db):
        rows = await devices.list_all(db, project_id=args.project)
        gateways = await devices.gateway_heartbeats(db)
        window = devices.liveness_window(config.stats_flush_seconds)
        print(f"{'vendor_code':<20} {'device_id':<24} {'project':>8} {'online':<7} last_seen (北京时间 UTC+8)")
        for d in rows:
            online, last_seen = devices.presence(d, gateways, window=window)
            seen = site_time_text(last_seen) or "-"
            print(f"{d['vendor_code']:<20} {d['device_id']:<24} {d['project_id']:>8} {'yes' if online else 'no':<7} {seen}")
        print(f"{len(rows)} device(s)")
        return 0

    return _with_database(config, add if args.action == "add" else show, app_name="realname-cli")


def cmd_account(args, config: Config) -> int:
    from .store import accounts, audit

    async def add(db):
        try:
            account, password = await accounts.create_account(
                db, username=args.username, role=args.role, project_id=args.project, county=args.county)
        except accounts.AccountError as exc:
            print(f"错误: {exc}", file=sys.stderr)
            return 2
        await audit.record(db, actor="operator", action="account_create",
                           target={"username": account["username"]}, detail={"role": account["role"]})
        scope = f" 项目 {account['project_id']}" if account["project_id"] else (f" {account['county']}" if account["county"] else "")
        print(f"已创建账号 {account['username']} ({account['role']}{scope})")
        print(f"初始密码 (仅显示这一次，首次登录须修改): {password}")
        return 0

    async def token(db):
        plaintext = await accounts.issue_token(db, args.username, args.label, actor="operator",
                                               keep_on_password_change=args.keep_on_password_change)
        print(f"访问令牌 (仅显示这一次；请求头 Authorization: Bearer <令牌>): {plaintext}")
        return 0

    async def tokens(db):
        account = await accounts.by_username(db, args.username)
        if account is None:
            raise accounts.AccountError("username", f"账号 {args.username} 不存在")
        print(f"账号 {args.username}{' (已停用)' if account.get('disabled') else ''}")
        for t in accounts.token_views(account):
            kept = "  (改密码后保留)" if t["keep_on_password_change"] else ""
            print(f"  {t['id']}  {t['created_at']:%Y-%m-%d %H:%M}  {t['label']}{kept}")
        return 0

    async def revoke(db):
        removed = await accounts.revoke_tokens(db, args.username, actor="operator", reason="revoked",
                                               only=None if args.all else args.token_id)
        print(f"已吊销 {len(removed)} 个令牌: {' '.join(removed) or '-'}")
        return 0

    async def disable(db):
        await accounts.set_disabled(db, args.username, True, actor="operator", keep_tokens=args.keep_tokens)
        print(f"已停用账号 {args.username}" + ("（令牌保留，启用后可再用）" if args.keep_tokens else "（会话已结束，令牌已吊销）"))
        return 0

    async def enable(db):
        await accounts.set_disabled(db, args.username, False, actor="operator")
        print(f"已启用账号 {args.username}")
        return 0

    actions = {"add": add, "token": token, "tokens": tokens, "revoke": revoke, "disable": disable, "enable": enable}

    async def run(db):
        try:
            return await actions[args.action](db)
        except accounts.AccountError as exc:
            print(f"错误: {exc}", file=sys.stderr)
            return 2

    return _with_database(config, run, app_name="realname-cli")


def cmd_seed_demo(args, config: Config) -> int:
    from .demo.province_demo import seed_province
    from .demo.seed import seed_demo

    async def seed(db) -> int:
        code = await seed_demo(db, scale=args.scale)
        print(f"上传省厅: {await seed_province(db, config)}", file=sys.stderr, flush=True)
        return code
    return _with_database(config, seed, app_name="realname-seed")


def cmd_simulate(args, config: Config) -> int:
    from .simulator import main as simulate_main
    return simulate_main(args)


def cmd_bench(args, config: Config) -> int:
    if args.target == "upload":
        from .bench.upload import main as bench_main
    elif args.target == "dashboards":
        from .bench.dashboards import main as bench_main
    elif args.target == "rollups":
        from .bench.rollup_rate import main as bench_main
    else:
        from .bench.gateway import main as bench_main
    return bench_main(args, config)


def cmd_province_sim(args, config: Config) -> int:
    from .province.standin import main as standin_main
    return standin_main(args)
def cmd_rollups(args, config: Config) -> int:
    from .store import rollup_months, rollups

    if args.action == "rebuild":
        from .domain.site_clock import parse_day
        from .domain.rules import RuleError
        try:
            first = parse_day(args.first, "from") if args.first else None
        except RuleError as exc:
            print(f"--from: {exc.message}", file=sys.stderr)
            return 2

        async def rebuild(db):
            read = await rollups.rebuild(db, first)
            print(f"rebuilt attendance rollups from {first or 'the first punch'}: {read} punches folded")
            days = await rollup_months.rebuild(db, first)
            print(f"rebuilt the month rollup from {first or 'the first punch'}: {days} project-days")
            return 0
        return _with_database(config, rebuild, app_name="realname-rollups")

    async def tail(db):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await rollups.PunchTail(db).run(stop)
        return 0
    return _with_database(config, tail, app_name="realname-rollups")


def cmd_settings(args, config: Config) -> int:
    print(settings_markdown())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realname", description="江门市智慧工地监管平台 — 实名制管理子系统")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run database (when embedded), gateway, web and worker together",
                   description="Run the whole platform under one supervisor: the embedded database unless "
                               "MONGODB_URI is set, the device gateway (REALNAME_GATEWAY_HOST/PORT), the web "
                               "process (REALNAME_WEB_HOST/PORT), a worker and the dashboards. Settings come from "
                               "the environment: `realname settings` lists them.").set_defaults(func=cmd_serve)
    sub.add_parser("gateway", help="run only the device gateway",
                   description="Run only the device gateway (raw TCP, REALNAME_GATEWAY_HOST/PORT) against "
                               "MONGODB_URI or the embedded database.").set_defaults(func=cmd_gateway)
    sub.add_parser("web", help="run only the web process",
                   description="Run only the REST API and portal (REALNAME_WEB_HOST/PORT) against MONGODB_URI "
                               "or the embedded database; prints the admin token when none was set.").set_defaults(
        func=cmd_web)
    sub.add_parser("worker", help="run one worker for background jobs (imports, mail retry); any number may run"
                   ).set_defaults(func=cmd_worker)
    sub.add_parser("db", help="run only the embedded database",
                   description="Run only the embedded MongoDB-speaking database on REALNAME_EMBEDDED_DB_PORT with its "
                               "files under REALNAME_DATA_DIR; other processes reach it by MONGODB_URI.").set_defaults(
        func=cmd_db)
    sub.add_parser("dashboards", help="run only the dashboards process (Dash on loopback, behind /dash/)").set_defaults(
        func=cmd_dashboards)
    demo = sub.add_parser("demo", help="serve + seed demonstration data + simulated devices punching live")
    demo.add_argument("--devices", type=int, default=20,
                      help="number of the demo's own devices (JMDEMO/DEMO-0001…) punching live (default 20)")
    demo.set_defaults(func=cmd_demo)

    device = sub.add_parser("device", help="register and list attendance devices (operators)")
    dsub = device.add_subparsers(dest="action", required=True)
    add = dsub.add_parser("add", help="register a device on a project")
    add.add_argument("--project", type=int, required=True, help="the project number the device is installed on")
    add.add_argument("--vendor-code", required=True, help="the supplier's vendor code the device logs in with")
    add.add_argument("--device-id", required=True, help="the device's own id (1-32 printable ASCII characters)")
    lst = dsub.add_parser("list", help="list registered devices (times in site time, UTC+8)")
    lst.add_argument("--project", type=int, default=None, help="only the devices of this project")
    device.set_defaults(func=cmd_device)

    account = sub.add_parser("account", help="issue, disable and enable accounts; issue and revoke bearer tokens (operators)")
    asub = account.add_subparsers(dest="action", required=True)
    aadd = asub.add_parser("add", help="create an account; prints its initial password once")
    aadd.add_argument("--role", required=True, help="supervisor, project, supplier, enterprise, analyst or admin")
    aadd.add_argument("--username", required=True)
    aadd.add_argument("--project", type=int, default=None, help="the project of a project account")
    aadd.add_argument("--county", default=None, help="limits a supervisor to one county (default: city-wide)")
    atok = asub.add_parser("token", help="issue a bearer token for an account; prints it once")
    atok.add_argument("username")
    atok.add_argument("--label", default="")
    atok.add_argument("--keep-on-password-change", action="store_true",
                      help="the token outlives the account's password changes (an integration's own token)")
    asub.add_parser("tokens", help="list an account's tokens (ids and labels)").add_argument("username")
    arev = asub.add_parser("revoke", help="revoke one token of an account (by id, see 'tokens'), or all")
    arev.add_argument("username")
    arev_which = arev.add_mutually_exclusive_group(required=True)
    arev_which.add_argument("token_id", nargs="?")
    arev_which.add_argument("--all", action="store_true")
    adis = asub.add_parser("disable", help="disable an account: ends its sessions and revokes its tokens")
    adis.add_argument("username")
    adis.add_argument("--keep-tokens", action="store_true", help="keep its tokens (they work again once enabled)")
    asub.add_parser("enable", help="enable a disabled account").add_argument("username")
    account.set_defaults(func=cmd_account)

    seed = sub.add_parser("seed-demo", help="create the demonstration city (idempotent)")
    seed.add_argument("--scale", type=int, default=1, help="multiply the number of workers per project")
    seed.set_defaults(func=cmd_seed_demo)

    sim = sub.add_parser("simulate", help="run simulated attendance devices against a gateway")
    from .simulator import add_arguments as add_sim_arguments
    add_sim_arguments(sim)
    sim.set_defaults(func=cmd_simulate)

    bench = sub.add_parser("bench", help="benchmarks; figures go to docs/benchmarks.md")
    targets = bench.add_subparsers(dest="target", required=True, metavar="{gateway,upload,dashboards,rollups}")
    from .bench.dashboards import add_arguments as add_dashboards_bench_arguments
    from .bench.gateway import add_arguments as add_gateway_bench_arguments
    from .bench.upload import add_arguments as add_upload_bench_arguments
    from .bench.rollup_rate import add_arguments as add_rollups_bench_arguments
    add_gateway_bench_arguments(targets.add_parser("gateway", help="the gateway's punch rate against the database's ceiling"))
    add_upload_bench_arguments(targets.add_parser("upload", help="a day of attendance through the 上传省厅 pipeline against the stand-in's ceiling"))
    add_rollups_bench_arguments(targets.add_parser("rollups", help="the rollup fold's throughput against the gateway's sustained rate, same run"))
    add_dashboards_bench_arguments(targets.add_parser("dashboards", help="the dashboards' data p95 on a generated city, beside raw punches; the rollup fold's rate"))
    bench.set_defaults(func=cmd_bench)

    psim = sub.add_parser("province-sim", help="run a stand-in of the provincial platform (上传省厅) for tests and the demo")
    from .province.standin import add_arguments as add_province_sim_arguments
    add_province_sim_arguments(psim)
    psim.set_defaults(func=cmd_province_sim)
    roll = sub.add_parser("rollups", help="attendance rollups the dashboards read")
    rsub = roll.add_subparsers(dest="action", required=True)
    rreb = rsub.add_parser("rebuild", help="recompute the rollups from raw punches")
    rreb.add_argument("--from", dest="first", default=None, metavar="YYYY-MM-DD", help="first site day (default: all)")
    rsub.add_parser("tail", help="fold new punches as they arrive (operators; the worker folds them every REALNAME_ROLLUP_FOLD_SECONDS)")
    roll.set_defaults(func=cmd_rollups)

    sub.add_parser("settings", help="print the settings table (Markdown)").set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        config = Config.from_env()
    except ValueError as exc:
        print(f"配置错误 (configuration error): {exc}", file=sys.stderr)
        return 2
    from .store.embedded import EmbeddedDatabaseError

    def terminate(*_):
        # Unwind like Ctrl-C so context managers stop the embedded database they started.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        return args.func(args, config) or 0
    except EmbeddedDatabaseError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
