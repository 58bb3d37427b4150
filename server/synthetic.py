"""Deterministic synthetic people, enterprises and photos for demo data, the device simulator and
benchmarks. Every generator takes a ``random.Random`` so a seed reproduces a whole data set; no
generator touches global random state.
"""
from __future__ import annotations

import datetime
import functools
import io
import random

from PIL import Image, ImageDraw, ImageFilter
from stdnum.cn import ric, uscc

from .domain.identity import area_code_in_use
from .domain.jobs import COUNTIES, COUNTY_AREA_CODES

# --- areas -------------------------------------------------------------------------------------

JIANGMEN_AREA_CODES: dict[str, str] = {code: county for county, code in COUNTY_AREA_CODES.items()}

# Home areas of migrant workers common on Guangdong sites (湖南, 广西, 四川, 贵州, 江西, 河南, 湖北,
# 重庆 and the rest of Guangdong). Some were created or retired after many holders' birth years,
# which the ID check reports as a warning, as real numbers do.
MIGRANT_AREA_CODES: dict[str, str] = {
    "430524": "湖南省隆回县", "431021": "湖南省桂阳县", "430381": "湖南省湘乡市", "432524": "湖南省新化县",
    "450881": "广西桂平市", "452123": "广西宾阳县", "450922": "广西陆川县", "452501": "广西玉林市",
    "510722": "四川省三台县", "511321": "四川省南部县", "512921": "四川省南充县", "513030": "四川省渠县",
    "522121": "贵州省遵义县", "520221": "贵州省水城县", "522422": "贵州省大方县",
    "362502": "江西省临川市", "360735": "江西省石城县", "362137": "江西省于都县",
    "411528": "河南省息县", "412724": "河南省太康县", "413021": "河南省光山县",
    "421087": "湖北省松滋市", "422201": "湖北省孝感市", "500229": "重庆市城口县",
    "441224": "广东省怀集县", "441621": "广东省紫金县", "445281": "广东省普宁市", "440923": "广东省电白县",
}

_PERSON_AREA_POOL: tuple[str, ...] = tuple(JIANGMEN_AREA_CODES) + tuple(MIGRANT_AREA_CODES)


def area_code(rng: random.Random, *, local_share: float = 0.4) -> str:
    """A home area code: 江门 with probability local_share, otherwise a migrant's home county."""
    pool = JIANGMEN_AREA_CODES if rng.random() < local_share else MIGRANT_AREA_CODES
    return rng.choice(tuple(pool))


# --- people ------------------------------------------------------------------------------------

_CHINA_TZ = datetime.timezone(datetime.timedelta(hours=8))


def birth_date(rng: random.Random, birth_year_range: tuple[int, int] = (1960, 2004)) -> datetime.date:
    first = datetime.date(birth_year_range[0], 1, 1)
    last = min(datetime.date(birth_year_range[1], 12, 31), datetime.datetime.now(_CHINA_TZ).date())
    return datetime.date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def id_number(rng: random.Random, *, area: str | None = "440703",
              birth_year_range: tuple[int, int] = (1960, 2004), sex: str | None = None) -> str:
    """A GB 11643 number with a valid check character; area=None picks a home area at random,
    sex "1"/"0" forces the sex digit."""
    born = birth_date(rng, birth_year_range)
    if area is None:
        # Mostly codes in use in the birth year, so demo data shows the soft area warning on
        # a minority of people rather than on most of them.
        for _ in range(8):
            area = area_code(rng)
            if area_code_in_use(area, born.year) or rng.random() < 0.1:
                break
    order = rng.randint(0, 99)
    sex_digit = rng.randrange(0, 10, 2) + (1 if (sex or rng.choice("01")) == "1" else 0)
    body = f"{area}{born:%Y%m%d}{order:02d}{sex_digit}"
    # stdnum's calc_check_digit expects a full-length number and ignores its last character.
    return body + ric.calc_check_digit(body + "0")


_SURNAMES = (
    "陈李黄张梁林刘吴王何郭罗谭邓冯关余周赵杨朱胡麦邝甄伍雷钟曾徐孙马高叶郑彭卢蔡苏许潘杜"
    "袁唐韦龙覃莫蒋谢肖廖姚邹熊江汤")
# 司徒 and 欧阳 are common in 台山 and 开平.
_COMPOUND_SURNAMES = ("司徒", "欧阳", "上官", "司马")
_GIVEN = (
    "伟强军勇杰涛明辉华建国平志文斌俊峰波海东亮刚荣新宇浩健永春晓丽芳敏静燕玲红霞婷娟英秀"
    "桂兰凤金玉洁琳雪梅莉慧嘉家晨子思鸿锦耀达德成贤满振宏庆福昌盛坤林")


def chinese_name(rng: random.Random) -> str:
    """A plausible name of 2 or 3 characters."""
    if rng.random() < 0.04:
        return rng.choice(_COMPOUND_SURNAMES) + rng.choice(_GIVEN)
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(_SURNAMES) + given


_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "178", "180", "181", "182",
    "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)


def phone(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# Real towns and sub-districts; 市辖区 has no territory of its own, its projects lie in the districts.
_TOWNS: dict[str, tuple[str, ...]] = {
    "蓬江区": ("环市街道", "潮连街道", "白沙街道", "荷塘镇", "杜阮镇", "棠下镇"),
    "江海区": ("江南街道", "外海街道", "礼乐街道"),
    "新会区": ("会城街道", "司前镇", "罗坑镇", "大泽镇", "崖门镇", "双水镇", "古井镇", "三江镇", "睦洲镇"),
    "台山市": ("台城街道", "水步镇", "大江镇", "斗山镇", "广海镇", "都斛镇", "川岛镇"),
    "开平市": ("长沙街道", "三埠街道", "赤坎镇", "塘口镇", "水口镇", "月山镇"),
    "鹤山市": ("沙坪街道", "共和镇", "址山镇", "雅瑶镇", "桃源镇", "宅梧镇"),
    "恩平市": ("恩城街道", "圣堂镇", "沙湖镇", "牛江镇", "君堂镇", "良西镇"),
}
_ROADS = ("建设路", "发展大道", "五邑路", "迎宾大道", "胜利路", "港口路", "白沙大道", "江门大道",
          "华园路", "育德路", "侨乡路", "新村路", "人民路", "中山路", "工业大道", "环城路")
_VILLAGE_WORDS = ("东", "西", "南", "北", "新", "龙", "石", "塘", "岗", "沙", "冲", "和", "安", "富")


def address(rng: random.Random, county: str) -> str:
    """A street or village address in a 江门 county (as printed on ID cards and permits)."""
    if county not in _TOWNS and county != "市辖区":
        raise ValueError(f"unknown county {county!r}; expected one of {COUNTIES}")
    place = county if county != "市辖区" else rng.choice(("蓬江区", "江海区"))
    town = rng.choice(_TOWNS[place])
    if town.endswith("镇") and rng.random() < 0.6:
        village = rng.choice(_VILLAGE_WORDS) + rng.choice(_VILLAGE_WORDS) + "村"
        return f"广东省江门市{place}{town}{village}{rng.randint(1, 120)}号"
    return f"广东省江门市{place}{town}{rng.choice(_ROADS)}{rng.randint(1, 399)}号"


# --- enterprises -------------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body: str) -> str:
    # GB 11714 check character of the organisation code embedded in places 9–17.
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_CODE_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def credit_code(rng: random.Random, *, region: str = "440703", prefix: str = "91") -> str:
    """A GB 32100 统一社会信用代码; prefix "91" is an enterprise registered by 市场监管."""
    if rng.random() < 0.6:
        # Codes issued since 2015 carry an organisation code starting "MA".
        body = "MA" + "".join(rng.choice(_USCC_ALPHABET) for _ in range(6))
    else:
        body = f"{rng.randrange(10**8):08d}"
    head = prefix + region + body + _org_code_check(body)
    # stdnum's calc_check_digit zips against 17 weights, so the 17-character head is enough.
    return head + uscc.calc_check_digit(head)


_TRADE_NAMES = (
    "华盈", "万源", "众邦", "宏达", "粤海", "侨乡", "五邑", "恒信", "建安", "鸿基", "新泰", "金辉",
    "永兴", "联创", "骏业", "宏图", "信达", "顺安", "泰和", "广厦", "鼎盛", "嘉禾", "锦程", "瑞丰",
    "冠华", "中侨", "志诚", "天盛", "南粤", "银湖", "圭峰", "潭江", "锦江", "恒建", "隆基", "汇通",
)
_SUFFIXES_BY_UNIT_TYPE: dict[str, tuple[str, ...]] = {
    "建设单位": ("置业有限公司", "房地产开发有限公司", "城市建设投资有限公司", "实业有限公司"),
    "施工总承包单位": ("建筑工程有限公司", "建设工程有限公司", "建设集团有限公司", "市政工程有限公司"),
    "专业分包": ("装饰工程有限公司", "机电安装工程有限公司", "钢结构工程有限公司", "基础工程有限公司",
             "幕墙工程有限公司"),
    "劳务分包": ("建筑劳务有限公司", "劳务分包有限公司", "建筑劳务服务有限公司"),
    "监理单位": ("工程监理有限公司", "工程管理咨询有限公司", "建设监理有限公司"),
    "勘察单位": ("岩土工程勘察有限公司", "勘察设计有限公司"),
    "设计单位": ("建筑设计院有限公司", "工程设计有限公司"),
}


def enterprise_name(rng: random.Random, county: str, *, unit_type: str | None = None) -> str:
    """E.g. "江门市蓬江区华盈建筑工程有限公司"; the suffix fits unit_type when given."""
    suffixes = _SUFFIXES_BY_UNIT_TYPE.get(unit_type or "施工总承包单位", _SUFFIXES_BY_UNIT_TYPE["施工总承包单位"])
    roll = rng.random()
    if roll < 0.15:
        place = "广东"
    elif county == "市辖区" or county not in COUNTY_AREA_CODES:
        place = "江门市"
    elif county.endswith("市"):
        # County-level cities register under their own name.
        place = county
    else:
        place = "江门市" + county
    return place + rng.choice(_TRADE_NAMES) + rng.choice(suffixes)


# --- photos ------------------------------------------------------------------------------------

_BACKGROUNDS = ((235, 240, 245), (67, 142, 219), (255, 255, 255), (200, 30, 40), (220, 225, 230))
_SKINS = ((241, 194, 160), (224, 172, 135), (198, 140, 105), (233, 185, 150))
_CLOTHES = ((30, 40, 60), (240, 240, 240), (90, 90, 90), (20, 60, 120), (200, 120, 30))


def _face(seed: int, size: tuple[int, int], grain: float) -> Image.Image:
    r = random.Random(seed)
    w, h = size
    top, bottom = r.choice(_BACKGROUNDS), r.choice(_BACKGROUNDS)
    # A vertical gradient from a one-pixel-wide strip is far cheaper than drawing lines.
    strip = Image.new("RGB", (1, h))
    strip.putdata([tuple(int(a + (b - a) * y / max(1, h - 1)) for a, b in zip(top, bottom)) for y in range(h)])
    img = strip.resize((w, h))
    d = ImageDraw.Draw(img)
    skin = r.choice(_SKINS)
    cx, cy = w * r.uniform(0.45, 0.55), h * r.uniform(0.38, 0.45)
    fw, fh = w * r.uniform(0.26, 0.34), h * r.uniform(0.27, 0.33)
    d.ellipse((cx - w * 0.45, h * 0.78, cx + w * 0.45, h * 1.3), fill=r.choice(_CLOTHES))
    d.rectangle((cx - fw * 0.35, cy + fh * 0.6, cx + fw * 0.35, h * 0.85), fill=skin)
    d.ellipse((cx - fw * 1.05, cy - fh * 1.15, cx + fw * 1.05, cy + fh * 0.2), fill=(r.randint(10, 60),) * 3)
    d.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=skin)
    for ex in (cx - fw * 0.4, cx + fw * 0.4):
        d.ellipse((ex - fw * 0.14, cy - fh * 0.15, ex + fw * 0.14, cy - fh * 0.03), fill=(40, 30, 30))
    d.line((cx, cy, cx - fw * 0.08, cy + fh * 0.35), fill=tuple(int(c * 0.8) for c in skin), width=2)
    d.ellipse((cx - fw * 0.35, cy + fh * 0.5, cx + fw * 0.35, cy + fh * 0.62), fill=(170, 80, 80))
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    if grain > 0:
        # Sensor-like noise from the seeded generator (Image.effect_noise uses C rand(): not
        # reproducible). Its amount is what moves the encoded size.
        noise = Image.frombytes("RGB", (w, h), r.randbytes(w * h * 3))
        img = Image.blend(img, noise, grain)
    return img


def _encode(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _pad(jpeg: bytes, target: int) -> bytes:
    # Last resort for targets above what the image reaches: COM segments right after SOI.
    out, missing = bytearray(jpeg[:2]), target - len(jpeg)
    while missing >= 4:
        chunk = min(missing - 4, 65533)
        out += b"\xff\xfe" + (chunk + 2).to_bytes(2, "big") + b" " * chunk
        missing -= chunk + 4
    return bytes(out + jpeg[2:])


# Grain amounts tried in turn: moderate first (looks like a camera), then whatever reaches the size.
_GRAINS = (0.08, 0.03, 0.15, 0.0, 0.25, 0.4, 0.6)


@functools.lru_cache(maxsize=512)
def _jpeg(seed: int, target: int, size: tuple[int, int]) -> bytes:
    lo_ok, hi_ok = target * 0.85, target * 1.15
    best = b""
    for grain in _GRAINS:
        img = _face(seed, size, grain)
        lo, hi = 5, 95
        while lo <= hi:  # encoded size grows with quality
            q = (lo + hi) // 2
            data = _encode(img, q)
            if lo_ok <= len(data) <= hi_ok:
                return data
            if not best or abs(len(data) - target) < abs(len(best) - target):
                best = data
            if len(data) > target:
                hi = q - 1
            else:
                lo = q + 1
    if len(best) < lo_ok:
        return _pad(best, target)
    raise ValueError(f"cannot make a {size[0]}x{size[1]} JPEG as small as {target} bytes")


def jpeg_photo(rng: random.Random, *, target_bytes: int = 10_000, size: tuple[int, int] = (240, 320)) -> bytes:
    """A real, decodable JPEG portrait within ±15 % of target_bytes. Consumes one draw from rng."""
    return _jpeg(rng.getrandbits(64), int(target_bytes), tuple(size))


def photo_pool(rng: random.Random, n: int, target_bytes: int = 10_000, *,
               size: tuple[int, int] = (240, 320)) -> list[bytes]:
    """n distinct photos to reuse: benchmarks need thousands of punches, not thousands of encodes."""
    return [jpeg_photo(rng, target_bytes=target_bytes, size=size) for _ in range(n)]
