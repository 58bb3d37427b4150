"""项目申报 (public) and 项目申报审核 over real HTTP on the real database, with a real SMTP sink."""
from __future__ import annotations

import email
import io
import email.policy
import socketserver
import threading
import uuid

import openpyxl

from support import refusal_names_field, ADMIN_TOKEN, PDF, WebThread, WorkerThread, run_async, wait_until

FIELDS = {"name": "江门市蓬江区测试住宅楼工程", "supplier": "江门智慧工地科技有限公司", "category": "房屋建筑工程",
          "status": "在建", "permit_no": "440703202207060101", "county": "蓬江区", "address": "江门市蓬江区建设路1号",
          "applicant_name": "陈大文", "applicant_mobile": "13812345678", "applicant_email": "chen@example.cn"}


def declare(web, ip: str = "10.9.0.1", proof=("proof.pdf", PDF, "application/pdf"), **changes):
    """Submit the public form as an anonymous visitor from `ip` (captcha answered)."""
    _, captcha, _ = web.request("GET", "/api/captcha", ip=ip)
    fields = {**FIELDS, "captcha_id": captcha["id"], "captcha": "TEST", **changes}
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items() if v is not None]
    if proof:
        name, data, ctype = proof
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="proof"; filename="{name}"\r\n'
                     f'Content-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    status, body, _ = web.raw("POST", "/api/declarations", b"".join(parts), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Real-IP": ip})
    import json
    return status, json.loads(body)


def test_public_form_checks_every_field_and_keeps_the_proof_in_the_database(web, sdb):
    status, page, _ = web.raw("GET", "/declare")
    html = page.decode()
    assert status == 200 and "项目申报" in html and 'data-api="/api/declarations"' in html and "提交申报" in html
    refusals = [
        ({"applicant_mobile": "1381234567"}, None, "applicant_mobile", 400),
        ({"applicant_mobile": "23812345678"}, None, "applicant_mobile", 400),
        ({"applicant_email": "chen@example"}, None, "applicant_email", 400),
        ({"county": "广州市"}, None, "county", 400),
        ({"name": ""}, None, "name", 400),
        ({"supplier": "x" * 101}, None, "supplier", 400),
        ({"category": "其他"}, None, "category", 400),
        ({"status": "完工"}, None, "status", 400),
        ({"permit_no": "许可证=1"}, None, "permit_no", 400),
        ({"applicant_name": ""}, None, "applicant_name", 400),
        ({}, ("proof.pdf", b"MZ not a pdf", "application/pdf"), "proof", 400),
        ({}, ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf"), "proof", 413),
        ({}, (), "proof", 400),
        ({"captcha": "WRONG"}, None, "captcha", 400),
    ]
    for n, (changes, proof, field, code) in enumerate(refusals):
        kwargs = {"proof": proof} if proof is not None else {}
        status, reply = declare(web, ip=f"10.9.1.{n}", **changes, **kwargs)
        assert status == code and reply["field"] == field, (changes, reply)
        assert refusal_names_field(reply, field), reply
    assert sdb.declarations.count_documents({}) == 0
    status, reply = declare(web, applicant_mobile="+86 138-1234-5678")
    assert status == 201 and reply["state"] == "pending", reply
    doc = sdb.declarations.find_one()
    assert doc["applicant"]["mobile"] == "13812345678" and doc["state"] == "pending"
    assert bytes(doc["proof"]["data"]) == PDF and doc["proof"]["kind"] == "pdf"
    # The same project again while it waits for review: refused, naming the field.
    status, reply = declare(web, ip="10.9.1.99")
    assert status == 409 and reply["field"] == "name"
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    assert declare(web, proof=("x.png", png, "image/png"), name="江门市另一个项目")[0] == 201


def test_one_address_may_declare_only_a_few_projects_an_hour(web, sdb):
    for n in range(5):
        assert declare(web, ip="10.9.2.1", name=f"江门市测试项目{n}")[0] == 201
    status, reply = declare(web, ip="10.9.2.1", name="江门市测试项目5")
    assert status == 429 and "频繁" in reply["message"]
    assert declare(web, ip="10.9.2.2", name="江门市测试项目5")[0] == 201  # another address is not affected
    assert sdb.declarations.count_documents({}) == 6


def test_pass_creates_project_and_account_shown_once_and_decides_only_once(web, sdb, make_account):
    make_account("jg_city", "supervisor")
    cookie = web.login("jg_city")
    declare(web)
    status, listing, _ = web.request("GET", "/api/declarations", cookie=cookie)
    assert status == 200 and listing["count"] == 1
    row = listing["declarations"][0]
    assert row["applicant_mobile"] == "138****5678" and row["applicant_email"] == "c***@example.cn"
    decl = row["id"]
    # The proof download is audited; the page lists the declaration with its actions.
    status, data, headers = web.raw("GET", f"/api/declarations/{decl}/proof", cookie=cookie)
    assert status == 200 and data == PDF and headers["Content-Type"] == "application/pdf"
    assert sdb.audit_log.find_one({"action": "declaration_proof_download", "actor": "jg_city"})
    _, page, _ = web.raw("GET", "/declarations", cookie=cookie)
    assert "证明文件" in page.decode() and "审核历史" in page.decode() and FIELDS["name"] in page.decode()
    _, page, _ = web.raw("GET", f"/declarations/{decl}", cookie=cookie)
    assert 'id="decision-form"' in page.decode() and "138****5678" in page.decode()
    status, detail, _ = web.request("GET", f"/api/declarations/{decl}?unmask=true", cookie=cookie)
    assert detail["applicant_mobile"] == "13812345678"
    _, page, _ = web.raw("GET", f"/declarations/{decl}?unmask=1", cookie=cookie)
    assert "13812345678" in page.decode()
    assert sdb.audit_log.count_documents({"action": "declaration_view_unmasked", "actor": "jg_city"}) == 2

    status, result, _ = web.request("POST", f"/api/declarations/{decl}/decision",
                                    {"result": "pass", "opinion": "材料齐全"}, cookie=cookie)
    assert status == 200 and result["state"] == "passed", result
    username, password = result["username"], result["password"]
    assert username.startswith("xm") and len(password) >= 8 and result["project_id"]
    # The project carries the declared fields.
    project = sdb.projects.find_one({"_id": result["project_id"]})
    assert project["name"] == FIELDS["name"] and project["supplier"] == FIELDS["supplier"]
    assert project["permit_no"] == FIELDS["permit_no"] and project["applicant"]["email"] == FIELDS["applicant_email"]
    assert project["status_history"][0]["by"] == "jg_city"
    # The password is nowhere in the database in clear: not on the account, not in the outbox.
    account = sdb.accounts.find_one({"username": username})
    assert account["project_id"] == project["_id"] and account["must_change_password"] is True
    assert password not in str(account) and password not in str(list(sdb.outbox.find()))
    assert password not in str(sdb.declarations.find_one({}, {"proof": 0}))
    mail = sdb.outbox.find_one()
    assert mail["to"] == FIELDS["applicant_email"] and username in mail["body"] and mail["state"] == "queued"
    # Decided only once.
    again = web.request("POST", f"/api/declarations/{decl}/decision", {"result": "fail", "opinion": "x"},
                        cookie=cookie)
    assert again[0] == 409 and "已审核" in again[1]["message"]
    _, detail, _ = web.request("GET", f"/api/declarations/{decl}", cookie=cookie)
    assert [(h["action"], h["by"]) for h in detail["history"]] == [("submitted", "陈大文"), ("passed", "jg_city")]
    assert detail["history"][1]["opinion"] == "材料齐全" and detail["account_username"] == username
    assert web.request("GET", "/api/declarations?state=decided", cookie=cookie)[1]["count"] == 1
    assert web.request("GET", "/api/declarations", cookie=cookie)[1]["count"] == 0
    status, data, _ = web.raw("GET", "/api/declarations/export?state=decided", cookie=cookie)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert status == 200 and rows[1][1] == FIELDS["name"] and rows[1][9] == "138****5678" and rows[1][12] == "审核通过"
    status, data, _ = web.raw("GET", "/api/outbox/export", cookie=cookie)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert status == 200 and rows[1][1] == "c***@example.cn" and len(rows) == 2
    # The issued account logs in, must change its password, then sees exactly its project.
    project_cookie = web.login(username, password)
    assert web.request("GET", "/api/projects", cookie=project_cookie)[0] == 403
    web.request("POST", "/api/password", {"old_password": password, "new_password": "NewPassw0rd",
                                        "new_password_confirm": "NewPassw0rd"},
                cookie=project_cookie)
    status, mine, _ = web.request("GET", "/api/projects", cookie=project_cookie)
    assert status == 200 and [p["id"] for p in mine["projects"]] == [project["_id"]]
    assert web.request("GET", "/api/declarations", cookie=project_cookie)[0] == 403


def test_fail_needs_an_opinion_and_county_reviewers_see_only_their_county(web, sdb, make_account):
    make_account("jg_pj", "supervisor", county="蓬江区")
    make_account("jg_jh", "supervisor", county="江海区")
    pj, jh = web.login("jg_pj"), web.login("jg_jh")
    declare(web)
    decl = str(sdb.declarations.find_one()["_id"])
    assert web.request("GET", "/api/declarations", cookie=jh)[1]["count"] == 0
    assert web.request("GET", f"/api/declarations/{decl}", cookie=jh)[0] == 404
    assert web.raw("GET", f"/api/declarations/{decl}/proof", cookie=jh)[0] == 404
    assert web.request("POST", f"/api/declarations/{decl}/decision", {"result": "pass"}, cookie=jh)[0] == 404
    assert web.raw("GET", f"/declarations/{decl}", cookie=jh)[0] == 404
    status, reply, _ = web.request("POST", f"/api/declarations/{decl}/decision", {"result": "fail"}, cookie=pj)
    assert status == 400 and reply["field"] == "opinion"
    status, reply, _ = web.request("POST", f"/api/declarations/{decl}/decision", {"result": "maybe"}, cookie=pj)
    assert status == 400 and reply["field"] == "result"
    status, result, _ = web.request("POST", f"/api/declarations/{decl}/decision",
                                    {"result": "fail", "opinion": "证明文件不清晰"}, cookie=pj)
    assert status == 200 and result["state"] == "failed" and result["password"] is None
    assert sdb.projects.count_documents({}) == 0 and sdb.accounts.count_documents({"role": "project"}) == 0
    mail = sdb.outbox.find_one()
    assert "未通过" in mail["subject"] and "证明文件不清晰" in mail["body"] and mail["county"] == "蓬江区"
    status, box, _ = web.request("GET", "/api/outbox", cookie=pj)
    assert status == 200 and box["count"] == 1 and box["mails"][0]["to"] == "c***@example.cn"
    assert box["smtp_configured"] is False
    assert web.request("GET", "/api/outbox", cookie=jh)[1]["count"] == 0
    assert web.request("POST", "/api/outbox/send", cookie=pj)[0] == 409
    _, page, _ = web.raw("GET", "/outbox", cookie=pj)
    assert "未配置邮件服务器" in page.decode() and "证明文件不清晰" in page.decode()
    # Declared again after the refusal: allowed, and the reviewer sees the earlier record beside it.
    assert declare(web, ip="10.9.5.1")[0] == 201
    again = str(sdb.declarations.find_one({"state": "pending"})["_id"])
    _, detail, _ = web.request("GET", f"/api/declarations/{again}", cookie=pj)
    assert [(e["state_name"], e["opinion"]) for e in detail["earlier"]] == [("审核不通过", "证明文件不清晰")]
    _, page, _ = web.raw("GET", f"/declarations/{again}", cookie=pj)
    assert 'id="earlier-table"' in page.decode()


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept every command, keep each DATA block."""

    def handle(self):
        def say(text):
            self.wfile.write(text.encode() + b"\r\n")
        say("220 sink ESMTP")
        lines, in_data = [], False
        for raw in self.rfile:
            if in_data:
                if raw.rstrip(b"\r\n") == b".":
                    self.server.messages.append(email.message_from_bytes(b"".join(lines), policy=email.policy.default))
                    lines, in_data = [], False
                    say("250 OK")
                else:
                    lines.append(raw[1:] if raw.startswith(b".") else raw)
                continue
            line = raw.decode("ascii", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                say("250-sink")
                say("250 8BITMIME")
            elif verb == "DATA":
                in_data = True
                say("354 go ahead")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 OK")


class SMTPSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True  # the test restarts a sink on the same port

    def __init__(self, port: int = 0):
        super().__init__(("127.0.0.1", port), _SMTPHandler)
        self.messages: list[email.message.EmailMessage] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_result_mails_are_sent_over_smtp_and_failures_are_recorded(mongo_uri, db_name, sdb, make_account):
    sink = SMTPSink()
    port = sink.server_address[1]
    web = WebThread(mongo_uri, db_name, smtp_host="127.0.0.1", smtp_port=port, smtp_from="noreply@jm.example")
    try:
        declare(web, ip="10.9.3.1")
        declare(web, ip="10.9.3.2", name="江门市蓬江区第二个项目")
        first, second = [str(d["_id"]) for d in sdb.declarations.find().sort("submitted_at", 1)]
        status, result, _ = web.request("POST", f"/api/declarations/{first}/decision", {"result": "pass"},
                                        token=ADMIN_TOKEN)
        assert status == 200
        wait_until(lambda: sdb.outbox.find_one({"state": "sent"}), message="mail not sent")
        message = sink.messages[0]
        assert message["To"] == FIELDS["applicant_email"] and "审核通过" in message["Subject"]
        text = message.get_content()
        assert result["username"] in text and "/login" in text and result["password"] not in text
        # The mail server goes away: the next mail fails, the error is kept, and a retry sends it later.
        sink.shutdown()
        sink.server_close()
        web.request("POST", f"/api/declarations/{second}/decision", {"result": "fail", "opinion": "重复申报"},
                    token=ADMIN_TOKEN)
        failed = wait_until(lambda: sdb.outbox.find_one({"state": "failed"}), message="mail not marked failed")
        assert "Connection" in failed["error"] or "Errno" in failed["error"], failed["error"]
        status, box = web.get("/api/outbox")
        assert {m["state"] for m in box["mails"]} == {"sent", "failed"} and box["smtp_configured"] is True
        sink2 = SMTPSink(port)
        status, counts, _ = web.request("POST", "/api/outbox/send", token=ADMIN_TOKEN)
        assert status == 200 and counts == {"sent": 1, "failed": 0}
        assert "重复申报" in sink2.messages[0].get_content()
        sink2.shutdown()
        sink2.server_close()
    finally:
        web.stop()


def test_failed_mail_is_sent_again_by_the_workers_periodic_retry(mongo_uri, db_name, sdb):
    from server.store import jobs, outbox

    async def failed_mail(db):
        mail = await outbox.enqueue(db, to="a@jm.example", subject="项目申报审核结果", body="审核通过")
        await db.outbox.update_one({"_id": mail["_id"]}, {"$set": {"state": "failed", "attempts": 1,
                                                                   "error": "ConnectionRefusedError"}})
        return mail["_id"]
    mail_id = run_async(mongo_uri, db_name, failed_mail)
    sink = SMTPSink()
    worker = WorkerThread(mongo_uri, db_name, smtp_host="127.0.0.1", smtp_port=sink.server_address[1],
                          mail_retry_seconds=0.3)
    try:
        sent = wait_until(lambda: sdb.outbox.find_one({"_id": mail_id, "state": "sent"}), 30, "the mail sent")
        assert sent["attempts"] == 2 and sent["error"] == "" and "审核通过" in sink.messages[0].get_content()
        retry = wait_until(lambda: sdb.jobs.find_one({"_id": jobs.periodic_id("mail_retry"), "runs.0": {"$exists": True}}),
                         30, "the retry run recorded")
        assert retry["runs"][0]["error"] == ""
    finally:
        worker.stop()
        sink.shutdown()
        sink.server_close()


def test_oversized_requests_are_refused_before_they_are_read(web, sdb):
    status, body, _ = web.raw("POST", "/api/declarations", b"x" * 100, headers={
        "Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(50 * 1024 * 1024)})
    assert status == 413 and b"proof" in body
    nameless = b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\nx\r\n--b--\r\n'
    for ctype, data in (("multipart/form-data", b"x"), ("multipart/form-data; boundary=b", nameless)):
        status, body, _ = web.raw("POST", "/api/declarations", data, headers={"Content-Type": ctype})
        assert status == 400 and b"multipart" in body, body
    big = ("big.pdf", b"%PDF-" + b"0" * (6 * 1024 * 1024), "application/pdf")
    try:
        status, _ = declare(web, ip="10.9.4.1", proof=big)
    except OSError:  # the server may close the connection while the client is still sending
        status = 413
    assert status == 413
    assert declare(web, ip="10.9.4.2")[0] == 201 and sdb.declarations.count_documents({}) == 1
