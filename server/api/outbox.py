"""The e-mail outbox, inspectable by reviewers: what was queued, sent or failed, and why."""
from __future__ import annotations

from ..domain.contact import mask_email
from ..store import outbox
from .base import APIError, requires
from .declarations import ReviewHandler
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import BOOL, DATETIME, INT, STR, arr, enum, nullable, obj, operation


def mail_view(doc: dict) -> dict:
    # The recipient is an applicant's personal address: masked on the list like every contact detail.
    return {"id": str(doc["_id"]), "to": mask_email(doc["to"]), "subject": doc["subject"], "body": doc["body"],
            "county": doc.get("county"), "state": doc["state"], "state_name": outbox.STATE_NAMES[doc["state"]],
            "attempts": doc.get("attempts", 0), "error": doc.get("error", ""), "created_at": doc["created_at"],
            "sent_at": doc.get("sent_at")}


class OutboxHandler(ReviewHandler):
    @requires("declarations:review")
    async def get(self):
        rows = await outbox.listing(self.db, scope=self.scope)
        self.write_json({"mails": [mail_view(d) for d in rows], "count": len(rows),
                         "smtp_configured": bool(self.config.smtp_host)})


class OutboxExportHandler(ReviewHandler):
    @requires("declarations:review")
    async def get(self):
        rows = [mail_view(d) for d in await outbox.listing(self.db, scope=self.scope, limit=5000)]
        table = [(m["created_at"], m["to"], m["subject"], m["state_name"], m["attempts"], m["error"], m["sent_at"])
                 for m in rows]
        self.send_download(xlsx_bytes("发件箱", ("创建时间", "收件人", "主题", "状态", "尝试次数", "错误", "发送时间"), table),
                           export_filename("发件箱"), XLSX_TYPE)


class OutboxSendHandler(ReviewHandler):
    @requires("declarations:review")
    async def post(self):
        if not self.config.smtp_host:
            raise APIError(409, "conflict", "未配置邮件服务器（REALNAME_SMTP_HOST），邮件暂存于发件箱")
        counts = await outbox.deliver(self.db, self.config, retry_failed=True)
        await self.audit("outbox_send", None, **counts)
        self.write_json(counts)


default_handlers = [(r"/api/outbox", OutboxHandler), (r"/api/outbox/send", OutboxSendHandler),
                    (r"/api/outbox/export", OutboxExportHandler)]

MAIL = obj(["id", "to", "subject", "state", "created_at"], id=STR, to=STR, subject=STR, body=STR,
           county=nullable(STR), state=enum("queued", "sending", "sent", "failed"), state_name=STR, attempts=INT,
           error=STR, created_at=DATETIME, sent_at=nullable(DATETIME))
openapi = {
    "/api/outbox": {"get": operation(
        "发件箱：审核结果邮件及其发送状态（收件人脱敏）", tag="项目审核",
        response=obj(["mails", "count", "smtp_configured"], mails=arr(MAIL), count=INT, smtp_configured=BOOL),
        errors=())},
    "/api/outbox/export": {"get": operation(
        "导出发件箱（Excel，收件人脱敏）", tag="项目审核", download=XLSX_TYPE,
        errors=())},
    "/api/outbox/send": {"post": operation(
        "立即发送待发送邮件并重试发送失败的邮件", tag="项目审核",
        response=obj(["sent", "failed"], sent=INT, failed=INT), errors=(409,))},
}
