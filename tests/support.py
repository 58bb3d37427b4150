"""Test support: the gateway on a thread with its own event loop, a raw-socket device, site fixtures."""
from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import re
import random
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

from server.config import Config, parse_networks
from server.device import codec
from server.device.codec import Frame
from server.device.framer import FrameBuffer
from server.store.db import open_database
from server.store.embedded import free_port

VENDOR = "TESTVENDOR"


def wait_until(condition, timeout: float = 10.0, message: str = "condition not met", interval: float = 0.1):
    """Poll condition() until it returns something truthy and return that value; AssertionError(message)
    once `timeout` seconds have passed. The one way tests wait: for a condition, never a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (after {timeout:g} s; last value {value!r})")
        time.sleep(interval)


def run_async(uri: str, db_name: str, job):
    """Run job(db) on a fresh loop with a fresh client (one client per loop)."""
    async def main():
        client, db = await open_database(uri, db_name, app_name="tests")
        try:
            return await job(db)
        finally:
            await client.close()
    return asyncio.run(main())


class GatewayThread:
    def __init__(self, uri: str, db_name: str, **overrides):
        self.uri, self.db_name = uri, db_name
        self.port = free_port()
        env = {"REALNAME_DB_NAME": db_name, "REALNAME_STATS_FLUSH_SECONDS": "0.3",
               "REALNAME_DEVICE_SYNC_SECONDS": "0.5"}
        self.config = Config.from_env(env, mongodb_uri=uri, gateway_host="127.0.0.1", gateway_port=self.port,
                                      **overrides)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self):
        from server.device.gateway import GatewayServer
        from tornado.netutil import bind_sockets

        async def main():
            self.loop = asyncio.get_running_loop()
            client, db = await open_database(self.uri, self.db_name, app_name="test-gateway")
            self.server = GatewayServer(self.config, db)
            self.server.add_sockets(bind_sockets(self.port, "127.0.0.1"))
            self.server.start_loops()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await self.server.shutdown()
            await client.close()
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
            self._ready.set()

    def start(self) -> "GatewayThread":
        self._thread.start()
        assert self._ready.wait(30), "gateway did not start"
        if self.error:
            raise self.error
        return self

    def call(self, fn, timeout: float = 10):
        """Run fn() (a coroutine function) on the gateway's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)

    def flush(self):
        self.call(self.server.flush_stats)

    def settle(self, connections: int) -> None:
        """Wait until the gateway holds `connections` connections, then for one database round trip on
        its loop, so that whatever the released ones wrote (an offline mark) is written before a test
        asserts a device is still online or offline."""
        wait_until(lambda: len(self.server.connections) == connections,
                   message=f"gateway did not settle to {connections} connection(s)")
        self.flush()

    def stop(self):
        if self.loop and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        if self.error:
            raise self.error


ADMIN_TOKEN = "test-admin-token-0123456789"
CAPTCHA_ANSWER = "TEST"
PASSWORD = "Passw0rd-1"


class WebClient:
    """Real HTTP to a web process on 127.0.0.1:port (a WebThread, or one that `realname serve` started)."""

    def __init__(self, port: int):
        self.port = port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: dict | None = None, *, token: str | None = None,
                cookie: str | None = None, ip: str | None = None) -> tuple[int, dict, dict]:
        """(status, JSON body, response headers). Cookies are passed by hand: the session cookie is
        Secure, which a client's cookie jar would rightly not send over plain HTTP."""
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if cookie:
            request.add_header("Cookie", cookie)
            request.add_header("Origin", self.origin)  # as a browser on our own page sends it
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if ip:
            request.add_header("X-Real-IP", ip)
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read()), resp.headers
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), exc.headers

    def get(self, path: str, token: str | None = ADMIN_TOKEN) -> tuple[int, dict]:
        status, body, _ = self.request("GET", path, token=token)
        return status, body

    def raw(self, method: str, path: str, data: bytes | None = None, *, headers: dict | None = None,
            token: str | None = None, cookie: str | None = None) -> tuple[int, bytes, dict]:
        """Any request, any answer: (status, body bytes, headers) — for pages, downloads and uploads."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if cookie:
            request.add_header("Cookie", cookie)
            request.add_header("Origin", self.origin)  # as a browser on our own page sends it
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as resp:
                return resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    def upload(self, path: str, files: dict[str, tuple[str, bytes, str]], fields: dict[str, str] | None = None,
               *, token: str | None = ADMIN_TOKEN, cookie: str | None = None) -> tuple[int, dict]:
        """POST multipart/form-data; files maps field → (file name, bytes, content type)."""
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, content, ctype) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f'Content-Type: {ctype}\r\n\r\n'.encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        status, body, _ = self.raw("POST", path, b"".join(parts), token=token, cookie=cookie,
                                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, json.loads(body)

    def login(self, username: str, password: str = PASSWORD, *, ip: str = "10.0.0.1") -> str:
        """Log in through the captcha (test answer) and return the session cookie ("name=value")."""
        _, captcha, _ = self.request("GET", "/api/captcha", ip=ip)
        status, reply, headers = self.request("POST", "/api/login", {
            "username": username, "password": password, "captcha_id": captcha["id"], "captcha": CAPTCHA_ANSWER}, ip=ip)
        assert status == 200, reply
        for header in headers.get_all("Set-Cookie") or []:
            if header.startswith("realname_session="):
                return header.split(";")[0]
        raise AssertionError("no session cookie")


class WebThread(WebClient):
    """The web app on a thread with its own loop, against the real database, spoken to over real HTTP.

    The test client (127.0.0.1) is configured as a trusted proxy unless a test says otherwise
    (trusted_proxies=()), so a test can pose as any client address with X-Real-IP.
    """

    def __init__(self, uri: str, db_name: str, *, address: str = "127.0.0.1", **overrides):
        super().__init__(free_port())
        self.address = address
        env = {"REALNAME_DB_NAME": db_name, "REALNAME_ADMIN_TOKEN": ADMIN_TOKEN,
               "REALNAME_COOKIE_SECRET": "test-cookie-secret", "REALNAME_CAPTCHA_TEST_ANSWER": CAPTCHA_ANSWER}
        overrides.setdefault("trusted_proxies", parse_networks("127.0.0.1"))
        self.config = Config.from_env(env, mongodb_uri=uri, web_host="127.0.0.1", web_port=self.port, **overrides)
        self.uri, self.db_name = uri, db_name
        self._ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True).start()
        assert self._ready.wait(30)

    async def _main(self):
        from server.api.app import make_app
        from server.api.transport import tls_context
        client, db = await open_database(self.uri, self.db_name, app_name="test-web")
        server = make_app(self.config, db).listen(self.port, address=self.address,
                                                  ssl_options=tls_context(self.config))
        self.loop, self.stop_event = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self.stop_event.wait()
        server.stop()
        await client.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.stop_event.set)


def pdf_bytes() -> bytes:
    """A real one-page PDF: uploads must parse, not merely start with %PDF-."""
    import io

    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.pdf_header = b"%PDF-1.4"
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = pdf_bytes()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None



class WorkerThread:
    """A worker (server/workers) on a thread with its own loop, against the test's database."""

    def __init__(self, uri: str, db_name: str, kinds: dict | None = None, **overrides):
        env = {"REALNAME_DB_NAME": db_name, "REALNAME_WORKER_POLL_SECONDS": "0.1"}
        self.config = Config.from_env(env, mongodb_uri=uri, **overrides)
        self.uri, self.db_name, self.kinds = uri, db_name, kinds
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(30)

    async def _main(self):
        from server.workers.runner import Worker
        client, db = await open_database(self.uri, self.db_name, app_name="test-worker")
        self.loop, self.worker = asyncio.get_running_loop(), Worker(self.config, db, self.kinds)
        self._ready.set()
        try:
            await self.worker.run()
        finally:
            await client.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.worker.stopping.set)
        self._thread.join(30)


class WorkerProcess:
    """`realname worker` as a real child process, so a test can kill it with SIGKILL mid-job."""

    def __init__(self, uri: str, db_name: str, **env):
        self.env = dict(os.environ, MONGODB_URI=uri, REALNAME_DB_NAME=db_name, REALNAME_WORKER_POLL_SECONDS="0.1",
                        **env)
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def make_account_sync(uri: str, db_name: str, username: str, role: str, *, must_change: bool = False,
                      password: str = PASSWORD, **scope) -> dict:
    from server.store import accounts

    async def job(db):
        account, _ = await accounts.create_account(db, username=username, role=role, password=password,
                                                   must_change_password=must_change, **scope)
        return account
    return run_async(uri, db_name, job)


class ServerProcess:
    """A `realname <command>` as a real child process listening on port: killable, its memory measurable."""

    command = ""

    def __init__(self, port: int, env: dict):
        self.port, self.env = port, env
        self.proc: subprocess.Popen | None = None
        self.log_tail: collections.deque[str] = collections.deque(maxlen=200)

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", self.command], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        def listening() -> bool:
            assert self.proc.poll() is None, self.proc.stderr.read().decode(errors="replace")[-3000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False
        wait_until(listening, timeout=60, message=f"{self.command} process did not listen")
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        # Keep reading its log so a chatty process never blocks on a full pipe; the tail explains a failure.
        for line in self.proc.stderr:
            self.log_tail.append(line.decode(errors="replace"))

    def log_text(self) -> str:
        return "".join(self.log_tail)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def rss(self) -> int:
        import psutil
        return psutil.Process(self.proc.pid).memory_info().rss


class GatewayProcess(ServerProcess):
    """`realname gateway` as a real child process: it can be killed with SIGKILL and its memory measured."""

    command = "gateway"

    def __init__(self, uri: str, db_name: str, port: int | None = None, **env):
        self.uri, self.db_name = uri, db_name
        port = port or free_port()
        super().__init__(port, dict(os.environ, MONGODB_URI=uri, REALNAME_DB_NAME=db_name,
                                    REALNAME_GATEWAY_HOST="127.0.0.1", REALNAME_GATEWAY_PORT=str(port),
                                    REALNAME_STATS_FLUSH_SECONDS="0.5", **env))


FORWARD_SECRET = "test-forward-secret"


class DashboardsProcess(ServerProcess):
    """`realname dashboards` as a real child (Dash under waitress on loopback), keyed with FORWARD_SECRET."""

    command = "dashboards"

    def __init__(self, uri: str, db_name: str):
        port = free_port()
        super().__init__(port, dict(os.environ, MONGODB_URI=uri, REALNAME_DB_NAME=db_name,
                                    REALNAME_DASH_PORT=str(port), REALNAME_FORWARD_SECRET=FORWARD_SECRET))


class Device:
    """A device speaking raw frames over a blocking socket: the tests see exactly what a device sees."""

    def __init__(self, port: int, device_id: str = "DEV-0001", vendor: str = VENDOR, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.framer = FrameBuffer(8 << 20)
        self.device_id, self.vendor = device_id, vendor
        self.session = bytes(random.getrandbits(8) for _ in range(16))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_frame(self) -> Frame:
        while True:
            for frame in self.framer:
                return frame
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by gateway")
            self.framer.feed(data)

    def request(self, msg=None, *, command: int | None = None, content: bytes | None = None, **frame_fields) -> Frame:
        if msg is not None:
            command, content = codec.encode_request(msg)
        frame = Frame(command=command, content=content or b"", session_id=frame_fields.pop("session_id", self.session),
                      **frame_fields)
        self.send_raw(frame.encode())
        return self.recv_frame()

    def login(self) -> Frame:
        return self.request(codec.LoginRequest(self.vendor, self.device_id))

    def heartbeat(self) -> Frame:
        return self.request(command=codec.CMD_HEARTBEAT, content=b"")

    def punch(self, worker_no: int, when: dt.datetime, photo: bytes = b"\xff\xd8photo\xff\xd9", mode: int = 6) -> Frame:
        return self.request(codec.PunchRequest(worker_no, when, mode, photo))

    def is_closed(self, wait: float = 5.0) -> bool:
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def refusal_names_field(reply: dict, field: str) -> bool:
    """A refusal names its field in `field` only: the message is the Chinese reason, with no field code in it."""
    message = reply.get("message", "")
    return (reply.get("field") == field and re.search(r"[\u4e00-\u9fff]", message) is not None
            and not re.match(r"^[A-Za-z_/]+: ", message) and f"{field}:" not in message)


def now_local() -> dt.datetime:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None, microsecond=0)


async def build_site(db, *, workers: int = 3, devices: int = 1, seed: int = 7, county: str = "蓬江区") -> dict:
    """A project ready for devices: general contractor + manager team + worker team + workers entered."""
    from server import synthetic
    from server.store import devices as device_store
    from server.store import people, workforce

    rng = random.Random(seed)
    project = await workforce.create_project(db, name="江门市测试项目", county=county)
    enterprise = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="江门市测试建筑工程有限公司")
    unit = await workforce.add_unit(db, project_id=project["_id"], enterprise_id=enterprise["_id"], unit_type="施工总承包单位")
    team = await workforce.add_team(db, project_id=project["_id"], unit_id=unit["_id"], name="土建")
    photo = synthetic.jpeg_photo(rng, target_bytes=8000)
    entered = []
    for _ in range(workers):
        person, _ = await people.enroll(
            db, people.check_person_card({"id_number": synthetic.id_number(rng), "name": synthetic.chinese_name(rng), "nation": "01"}),
            id_photo=photo, capture_photo=photo, source={"test": True})
        await workforce.enter_person(db, project_id=project["_id"], worker_no=person["worker_no"],
                                     team_id=team["_id"], job="普通工人")
        entered.append(person)
    device_ids = []
    for i in range(devices):
        d = await device_store.register(db, project_id=project["_id"], vendor_code=VENDOR, device_id=f"DEV-{i + 1:04d}")
        device_ids.append(d["device_id"])
    return {"project_id": project["_id"], "team_id": team["_id"], "unit_id": unit["_id"],
            "workers": [{"worker_no": p["worker_no"], "id_number": p["id_number"], "name": p["name"]} for p in entered],
            "device_ids": device_ids, "photo_len": len(photo)}


def device_counts(sdb, device_id: str) -> dict:
    """A device's counters as the web process sums them: folded history plus every gateway's live counts."""
    import collections
    device = sdb.devices.find_one({"device_id": device_id}) or {}
    counts = collections.Counter(device.get("counters", {}))
    for doc in sdb.gateway_stats.find({"_id": {"$ne": "history"}}):
        counts.update(doc.get("devices", {}).get(str(device.get("_id")), {}))
    return dict(counts)


PUNCH_JPEG = b"\xff\xd8\xff\xe0punch-photo\xff\xd9"


def site_midnight(day: str) -> dt.datetime:
    """The start of a site-local day ("YYYY-MM-DD"), as roster entry and exit dates are stored."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.timezone(dt.timedelta(hours=8)))


def store_punches(mongo_uri, db_name, site, worker_no: int, when: str, *, test: bool = False,
                  device: str = "DEV-0001"):
    """Store punches the way the gateway does (PunchWriter), at the comma-separated site-local wall times."""
    from server.store.punches import PunchIn, PunchWriter

    async def job(db):
        writer = PunchWriter(db)
        for moment in when.split(","):
            outcome = await writer.submit(PunchIn(
                vendor_code=VENDOR, device_id=device, project_id=site["project_id"], worker_no=worker_no,
                device_time=dt.datetime.fromisoformat(moment), mode=6, photo=PUNCH_JPEG,
                received_at=dt.datetime.now(dt.timezone.utc), flags=[], test=test))
            assert outcome.ok, outcome
    run_async(mongo_uri, db_name, job)


class Browser:
    """A thin layer over Selenium for the portal: open a page, fill named fields, submit, wait."""

    def __init__(self, driver, base: str):
        self.driver, self.base = driver, base

    @property
    def url(self) -> str:
        return self.driver.current_url

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def _wait(self, condition, timeout: float = 15):
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait
        # A page reloading under the test makes elements stale ("stale element", "node does not belong
        # to the document"): look again until the timeout rather than fail on the first glance.
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(WebDriverException,)).until(condition)

    def find(self, selector: str):
        from selenium.webdriver.common.by import By
        return self._wait(lambda d: d.find_element(By.CSS_SELECTOR, selector))

    def _text_now(self, selector: str) -> str:
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, selector).text

    def field(self, name: str, scope: str = ""):
        return self.find(f'{scope} [name="{name}"]'.strip())

    def fill(self, values: dict, scope: str = "") -> None:
        from selenium.webdriver.support.ui import Select
        for name, value in values.items():
            element = self.field(name, scope)
            if element.tag_name == "select":
                Select(element).select_by_visible_text(value) if not str(value).startswith("value=") else \
                    Select(element).select_by_value(value[6:])
            elif element.get_attribute("type") == "file":
                element.send_keys(value)
            else:
                element.clear()
                element.send_keys(value)

    def set_value(self, name: str, value: str, scope: str = "") -> None:
        """Set a field directly: date inputs take typed digits in the browser's locale order, not ISO text."""
        self.driver.execute_script("arguments[0].value = arguments[1];", self.field(name, scope), value)

    def value(self, name: str, scope: str = "") -> str:
        return self.field(name, scope).get_attribute("value")

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        """Fill and send the login form (the tests turn the captcha's test answer on)."""
        self.open("/login")
        self.fill({"username": username, "password": password, "captcha": CAPTCHA_ANSWER})
        self.submit("#login-form")

    def submit(self, form_selector: str) -> None:
        self.find(f"{form_selector} [type=submit]").click()

    def click(self, selector: str) -> None:
        self.find(selector).click()

    def text(self, selector: str) -> str:
        return self._wait(lambda d: (self._text_now(selector),))[0]  # a tuple: empty text is an answer too

    def wait_text(self, selector: str, timeout: float = 15) -> str:
        """Wait until the element has some text, and return it."""
        return self._wait(lambda d: self._text_now(selector).strip() or False, timeout)

    def wait_text_in(self, selector: str, expected: str, timeout: float = 15) -> str:
        def shown(_):
            text = self._text_now(selector)
            return expected in text and text
        return self._wait(shown, timeout)

    def wait_url(self, fragment: str, timeout: float = 15) -> None:
        self._wait(lambda d: fragment in d.current_url, timeout)

    def answer_date(self, day: str) -> str:
        """Answer the page's date dialog (退场日期) with day (ISO); returns the date it offered first."""
        self.find("dialog.ask-date[open]")
        offered = self.find("dialog.ask-date input").get_attribute("value")
        self.driver.execute_script("arguments[0].value = arguments[1];", self.find("dialog.ask-date input"), day)
        self.click("dialog.ask-date [type=submit]")
        return offered

    def accept_dialogs(self, answer: str | None = None) -> None:
        """Answer the next confirm()/prompt() dialogs without a real dialog (headless)."""
        if answer is None:
            self.driver.execute_script("window.confirm = function () { return true; };")
        else:
            self.driver.execute_script(
                "window.confirm = function () { return true; }; window.prompt = function () { return arguments[0] === undefined ? '' : %s; };"
                % json.dumps(answer))


def roster_import_workbook(rows, header=None, notes=True) -> bytes:
    """An Excel roster in the platform's template columns (or `header`), with the notes row unless notes=False."""
    import io

    from openpyxl import Workbook

    from server.store import roster_import
    book = Workbook()
    book.active.append(header if header is not None else [c.title for c in roster_import.COLUMNS])
    if notes:
        book.active.append([c.note for c in roster_import.COLUMNS])
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def roster_workbook(path, rows) -> str:
    """roster_import_workbook written to path (no notes row); returns the path as text."""
    path.write_bytes(roster_import_workbook(rows, notes=False))
    return str(path)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload_roster(web, project_id, data, **kw):
    """POST an Excel workbook to 批量人员进场; returns (status, reply)."""
    return web.upload(f"/api/projects/{project_id}/roster/import", files={"file": ("名单.xlsx", data, XLSX)}, **kw)


def wait_import(web, url, token=ADMIN_TOKEN, timeout=60):
    """Poll an import's progress address until it is done or failed; returns the last report."""
    def finished():
        status, job = web.get(url, token=token)
        assert status == 200, job
        return job if job["state"] in ("done", "failed") else None
    return wait_until(finished, timeout=timeout, message=f"import {url} not finished")


def start_chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("REALNAME_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    service = Service(os.environ.get("REALNAME_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


def declare_project(b, proof_path, captcha: str, **fields) -> None:
    """In the browser b: from the login page, open 项目申报, fill the form (fields plus the proof file and
    captcha) and submit it once; the caller waits on the outcome it expects."""
    b.open("/login")
    b.click('a[href="/declare"]')
    b.wait_url("/declare")
    b.fill({**fields, "proof": str(proof_path), "captcha": captcha})
    b.submit("#declare-form")


class ProvinceSim:
    """`realname province-sim` as a child process on a free port; apps as APPID:SECRET:PROJECTCODE."""

    def __init__(self, *apps: str):
        command = [sys.executable, "-m", "server.cli", "province-sim", "--port", "0"]
        for app in apps:
            command += ["--app", app]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert "listening on" in line, line
        self.url = line.rsplit(" ", 1)[1].strip()

    def inject(self, rules: list[dict]) -> None:
        request = urllib.request.Request(self.url.removesuffix("/api") + "/_sim/inject", json.dumps({"rules": rules}).encode(),
                                         method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
