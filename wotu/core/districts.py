"""Administrative divisions the demo city (Qingdao, 青岛市) uses: code → (zh, en).

Codes are the 6-digit GB/T 2260 codes. Other cities add theirs here; an unknown code is still
accepted by the registry and shown as the bare code.
"""

from __future__ import annotations

DISTRICTS: dict[str, tuple[str, str]] = {
    "370202": ("市南区", "Shinan District"),
    "370203": ("市北区", "Shibei District"),
    "370211": ("黄岛区", "Huangdao District"),
    "370212": ("崂山区", "Laoshan District"),
    "370213": ("李沧区", "Licang District"),
    "370214": ("城阳区", "Chengyang District"),
    "370215": ("即墨区", "Jimo District"),
    "370281": ("胶州市", "Jiaozhou"),
    "370283": ("平度市", "Pingdu"),
    "370285": ("莱西市", "Laixi"),
}


def district_label(code: str, language: str = "zh-hans") -> str:
    names = DISTRICTS.get(code)
    if names is None:
        return code
    return names[1] if language.startswith("en") else names[0]
