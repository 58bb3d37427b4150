"""What the gateway does with each command of a logged-in (or logging-in) device.

Each handler gets the connection and one whole request frame and returns the reply frame.
Refusals carry a Chinese message the device can show and an English code that is counted on
the device and logged with its id.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING

from pymongo.errors import PyMongoError

from ..config import Config
from ..domain.person_card import check_person_card
from ..domain.punch_time import clock_flags
from ..domain.rules import RuleError
from ..domain.site_clock import SITE_TZ
from ..store import audit, devices, people, photos, projects, roster
from ..store.db import utcnow
from ..store.punches import PunchIn, PunchOutcome, PunchWriter, refusal_document
from . import codec
from .codec import (
    EnrollReply, EnrollRequest, Frame, LoginRequest, PersonReply, PersonRequest, ProtocolError,
    PunchRequest, WhitelistRecord, WhitelistReply, WhitelistRequest,
)
from .stats import Stats

if TYPE_CHECKING:
    from .gateway import DeviceConnection, GatewayServer

log = logging.getLogger("realname.gateway")

NOT_LOGGED_IN = "设备未登录"
PHOTO_TOO_LARGE = PunchOutcome(False, reason="photo_too_large", message="照片过大")


class Refusal(Exception):
    """A request refused with a reason; becomes a Flag 1 reply."""

    def __init__(self, code: str, message: str, content: bytes | None = None):
        super().__init__(code)
        self.code, self.message, self.content = code, message, content


class CommandHandlers:
    def __init__(self, gateway: "GatewayServer"):
        self.gateway = gateway
        self.config: Config = gateway.config
        self.db = gateway.db
        self.stats: Stats = gateway.stats
        self.writer: PunchWriter = gateway.writer
        self._table = {
            codec.CMD_LOGIN: self.login,
            codec.CMD_HEARTBEAT: self.heartbeat,
            codec.CMD_ENROLL: self.enroll,
            codec.CMD_WHITELIST: self.whitelist,
            codec.CMD_PERSON: self.person,
            codec.CMD_PUNCH: self.punch,
        }

    async def dispatch(self, conn: "DeviceConnection", frame: Frame) -> Frame:
        oid = conn.device["_id"] if conn.device else None
        try:
            handler = self._table.get(frame.command)
            if handler is None:
                raise Refusal("unknown_command", "不支持的命令")
            if conn.device is None and frame.command != codec.CMD_LOGIN:
                raise Refusal("not_logged_in", NOT_LOGGED_IN)
            try:
                if frame.command == codec.CMD_LOGIN and len(frame.content) < codec.LOGIN_PADDED_SIZE:
                    # Codes sent without padding (a field-device behaviour): every reading of them.
                    msg = codec.unpadded_logins(frame.content, strict_checksum=self.config.strict_checksum)
                    checksum = codec.ChecksumStatus.OK
                else:
                    msg, checksum = codec.decode_request(
                        frame.command, frame.content, strict_checksum=self.config.strict_checksum)
            except ProtocolError as exc:
                if frame.version != 1:
                    raise Refusal("version_unsupported", f"协议版本{frame.version}不支持") from exc
                raise Refusal(exc.code, exc.message) from exc
            if checksum is not codec.ChecksumStatus.OK:
                self.stats.count(oid, f"checksum_{checksum.value}")
            if frame.version != 1:
                self.stats.count(oid, "version_other")
            reply = await handler(conn, frame, msg)
            self.stats.count(conn.device["_id"] if conn.device else None, f"ok_{frame.command}")
            return reply
        except Refusal as refusal:
            return self.refuse(conn, frame, refusal)
        except PyMongoError:
            log.exception("database error on command %s from %s", frame.command, conn.label)
            return self.refuse(conn, frame, Refusal("database_error", "服务器繁忙,请稍后重试"))

    def refuse(self, conn: "DeviceConnection", frame: Frame, refusal: Refusal) -> Frame:
        oid = conn.device["_id"] if conn.device else None
        self.stats.count(oid, f"refused_{frame.command}_{refusal.code}")
        self.stats.count(None, "refused")
        log.warning("refused command %s from %s: %s (%s)", frame.command, conn.label, refusal.code, refusal.message)
        if refusal.content is not None:
            return frame.reply(refusal.content, flag=codec.FLAG_FAIL)
        return frame.failure(refusal.message)

    # 843
    async def login(self, conn: "DeviceConnection", frame: Frame, msg: LoginRequest | tuple[LoginRequest, ...]
                    ) -> Frame:
        if isinstance(msg, LoginRequest):
            device = await devices.find_active(self.db, msg.vendor_code, msg.device_id)
            sent = f"{msg.vendor_code}/{msg.device_id}"
            if device is None and len(frame.content) == codec.LOGIN_PADDED_SIZE:
                # 64 bytes is also 63 unpadded characters and a checksum byte.
                device = await self._unpadded_device(conn, frame, codec.unpadded_logins(
                    frame.content, strict_checksum=self.config.strict_checksum))
        else:
            device = await self._unpadded_device(conn, frame, msg)
            sent = f"unpadded {frame.content[:64]!r}"
        if device is None:
            conn.label = f"unregistered {sent} @{conn.address}"
            raise Refusal("unregistered_device", "设备未注册或未授权")
        if conn.device is not None and conn.device["_id"] != device["_id"]:
            raise Refusal("already_logged_in", "连接已登录其他设备")
        token = uuid.uuid4().hex
        await devices.mark_online(self.db, device["_id"], gateway_id=self.gateway.gateway_id, conn_token=token)
        self.gateway.adopt(conn, device, token)
        return frame.reply()

    async def _unpadded_device(self, conn: "DeviceConnection", frame: Frame, readings) -> dict | None:
        found = await devices.find_active_unpadded(self.db, readings)
        if len(found) > 1:
            # Two registered devices read the same unpadded: only the padded form tells them apart.
            conn.label = f"ambiguous unpadded {frame.content[:64]!r} @{conn.address}"
            raise Refusal("login_unpadded_ambiguous", "设备编号不唯一,请按32字节补齐发送")
        if found:
            self.stats.count(found[0]["_id"], "login_unpadded")
        return found[0] if found else None

    # 65535
    async def heartbeat(self, conn: "DeviceConnection", frame: Frame, msg) -> Frame:
        return frame.reply()

    # 852
    async def enroll(self, conn: "DeviceConnection", frame: Frame, msg: EnrollRequest) -> Frame:
        def refusal(code: str, message: str) -> Refusal:
            return Refusal(code, message, codec.encode_reply(EnrollReply(1, message)))

        # The person's rules are the one rule set the portal and the import use; the photo limits
        # are the device's own.
        raw = {"id_number": msg.id_number, "name": msg.name, "sex": msg.sex, "nation": msg.nation,
               "birth_date": msg.birth_date, "address": msg.address}
        try:
            card = check_person_card(raw)
        except RuleError as exc:
            raise refusal(f"{exc.field}_invalid", exc.message) from None
        if len(msg.id_photo) > self.config.id_photo_max:
            raise refusal("id_photo_too_large", "身份证照片过大")
        if not msg.capture_photo:
            raise refusal("capture_photo_missing", "缺少采集照片")
        if len(msg.capture_photo) > self.config.punch_photo_max:
            raise refusal("capture_photo_too_large", "采集照片过大")
        read = {"authority": msg.authority.strip(), "validity": msg.validity.strip(), "manual_entry": bool(msg.manual)}
        source = {"vendor_code": conn.device["vendor_code"], "device_id": conn.device["device_id"],
                  "project_id": conn.device["project_id"], "at": utcnow(), "manual": bool(msg.manual)}
        _, created = await people.enroll(self.db, card, read=read, id_photo=msg.id_photo,
                                         capture_photo=msg.capture_photo, source=source)
        self.stats.count(conn.device["_id"], "enrolled_new" if created else "enrolled_again")
        return frame.reply(codec.encode_reply(EnrollReply(0, "")))

    # 849
    async def whitelist(self, conn: "DeviceConnection", frame: Frame, msg: WhitelistRequest) -> Frame:
        project_id = conn.device["project_id"]
        name = await projects.name_of(self.db, project_id)
        workers = await roster.current_workers(self.db, project_id)
        records = tuple(
            WhitelistRecord(w["worker_no"], w["name"], w["id_number"], w.get("capture_photo_len", 0))
            for w in workers)
        return frame.reply(codec.encode_reply(WhitelistReply(project_id, name, records)))

    # 845
    async def person(self, conn: "DeviceConnection", frame: Frame, msg: PersonRequest) -> Frame:
        if msg.device_id and msg.device_id != conn.device["device_id"]:
            self.stats.count(conn.device["_id"], "person_device_id_mismatch")
        person = await people.by_id_number(self.db, msg.id_number.strip().upper())
        if person is None:
            raise Refusal("person_unknown", "人员不存在")
        # A device may read faces and ID details only of people entered on its own project.
        if not await roster.is_entered(self.db, conn.device["project_id"], person["worker_no"]):
            raise Refusal("person_not_entered", "人员未进场")
        capture = await photos.get(self.db, person.get("capture_photo_id")) or b""
        id_photo = await photos.get(self.db, person.get("id_photo_id")) or b""
        await audit.record(
            self.db, actor=f"device:{conn.device['vendor_code']}/{conn.device['device_id']}",
            action="device_person_fetch", target={"worker_no": person["worker_no"]},
            detail={"project_id": conn.device["project_id"], "unmasked": ["id_number", "photos"]})
        nation = person.get("nation") or "0"
        reply = PersonReply(
            worker_no=person["worker_no"], name=person.get("name", ""), id_number=person["id_number"],
            nation=int(nation) if nation.isdigit() else 0, sex=person.get("sex", ""),
            address=person.get("address", ""), birth_date=person.get("birth_date", ""),
            authority=person.get("authority", ""), validity=person.get("validity", ""),
            capture_photo=capture, id_photo=id_photo, infrared_photo=b"")
        return frame.reply(codec.encode_reply(reply))

    # 848
    async def punch(self, conn: "DeviceConnection", frame: Frame, msg: PunchRequest) -> Frame:
        device = conn.device
        received = utcnow()
        device_time_utc = msg.time.replace(tzinfo=SITE_TZ).astimezone(dt.timezone.utc)
        flags = clock_flags(device_time_utc, received, future_minutes=self.config.clock_future_minutes,
                            past_days=self.config.clock_past_days)
        punch = PunchIn(vendor_code=device["vendor_code"], device_id=device["device_id"],
                        project_id=device["project_id"], worker_no=msg.worker_no, device_time=msg.time,
                        mode=msg.mode, photo=msg.photo, received_at=received, flags=flags,
                        test=device.get("environment") == "test")
        if len(msg.photo) > self.config.punch_photo_max:
            self.writer.record_refusal(refusal_document(punch, PHOTO_TOO_LARGE))
            raise Refusal(PHOTO_TOO_LARGE.reason, PHOTO_TOO_LARGE.message)
        outcome = await self.writer.submit(punch)
        if not outcome.ok:
            raise Refusal(outcome.reason, outcome.message)
        oid = device["_id"]
        self.stats.count(oid, "punch_resent" if outcome.duplicate else "punch_stored")
        for flag in flags:
            self.stats.count(oid, f"punch_{flag}")
        return frame.reply()
