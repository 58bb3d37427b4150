"""民族字典: the nation codes of 江门市实名设备直连对接标准 V1.0 (section 1.2.7), exactly as published.

The names are the standard's, including historical ones ("毛难族", "崩龙族") that later national
lists renamed: devices and the provincial platform exchange these codes, so the table must match the
document rather than today's spelling.

Codes are two ASCII digits. Devices write them in a 4-byte field (852) or as one byte (845), so
lookups also accept the number itself and digit strings without or with extra leading zeros
("1", "001", 1 all mean "01"); :func:`normalize_nation` gives the canonical form to store.
"""
from __future__ import annotations

__all__ = ["NATIONS", "normalize_nation", "nation_name", "is_valid_nation", "nation_code"]

NATIONS: dict[str, str] = {
    "01": "汉族", "02": "蒙古族", "03": "回族", "04": "藏族", "05": "维吾尔族", "06": "苗族",
    "07": "彝族", "08": "壮族", "09": "布依族", "10": "朝鲜族", "11": "满族", "12": "侗族",
    "13": "瑶族", "14": "土家族", "15": "白族", "16": "哈尼族", "17": "哈萨克族", "18": "傣族",
    "19": "黎族", "20": "傈僳族", "21": "佤族", "22": "畲族", "23": "高山族", "24": "拉祜族",
    "25": "水族", "26": "东乡族", "27": "纳西族", "28": "景颇族", "29": "柯尔克孜族", "30": "土族",
    "31": "达斡尔族", "32": "仫佬族", "33": "羌族", "34": "布朗族", "35": "撒拉族", "36": "毛难族",
    "37": "仡佬族", "38": "锡伯族", "39": "阿昌族", "40": "普米族", "41": "塔吉克族", "42": "怒族",
    "43": "乌孜别克族", "44": "俄罗斯族", "45": "鄂温克族", "46": "崩龙族", "47": "保安族", "48": "裕固族",
    "49": "京族", "50": "塔塔尔族", "51": "独龙族", "52": "鄂伦春族", "53": "赫哲族", "54": "门巴族",
    "55": "珞巴族", "56": "基诺族", "57": "其他", "58": "外国血统",
}

_CODES_BY_NAME = {name: code for code, name in NATIONS.items()}


def normalize_nation(code: str | int) -> str | None:
    """Canonical two-digit code for ``code``, or None when it is not in the dictionary."""
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        number = code
    elif isinstance(code, str):
        text = code.strip()
        # ASCII only: str.isdigit() also accepts other scripts' digits, which no device sends.
        if not (text.isascii() and text.isdigit()) or len(text) > 4:
            return None
        number = int(text)
    else:
        return None
    canonical = f"{number:02d}"
    return canonical if canonical in NATIONS else None


def nation_name(code: str | int) -> str | None:
    canonical = normalize_nation(code)
    return None if canonical is None else NATIONS[canonical]


def is_valid_nation(code: str | int) -> bool:
    return normalize_nation(code) is not None


def nation_code(name: str) -> str | None:
    """Code of a nation name as printed on an ID card ("汉" or "汉族"), or None."""
    name = name.strip()
    return _CODES_BY_NAME.get(name) or _CODES_BY_NAME.get(name + "族")
