"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

An 18-character code: registration authority (1), organisation type (1), administrative
division (6), organisation code (9, itself ending in a GB 11714 check character) and a
check character computed over the first 17 with the weights below, modulo 31.
"""

from __future__ import annotations

# The 31-character alphabet: digits and capitals without I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714-1997 organisation code: 8 body characters (digits and capitals), weights, mod 11.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """Return the 18th character for the given first 17 characters.

    Raises ValueError when a character is outside the GB 32100 alphabet.
    """
    if len(first17) != 17:
        raise ValueError("need exactly 17 characters")
    total = 0
    for char, weight in zip(first17, WEIGHTS, strict=True):
        if char not in _VALUE:
            raise ValueError(f"character {char!r} is not in the GB 32100 alphabet")
        total += _VALUE[char] * weight
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a valid USCC, as (zh, en), or None when it is valid."""
    if len(code) != 18:
        return (
            f"统一社会信用代码须为 18 位，实际 {len(code)} 位",
            f"a USCC has 18 characters, this one has {len(code)}",
        )
    bad = sorted({char for char in code if char not in _VALUE})
    if bad:
        shown = "".join(bad)
        return (
            f"含有不允许的字符 {shown}（不得使用 I、O、S、V、Z 与小写字母）",
            f"contains characters {shown} that are not allowed (no I, O, S, V, Z or lower case)",
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return (
            f"校验码错误：第 18 位应为 {expected}（GB 32100-2015）",
            f"wrong check character: the 18th should be {expected} (GB 32100-2015)",
        )
    return None


def uscc_is_valid(code: str) -> bool:
    return uscc_problem(code) is None


def organisation_code_check_char(body8: str) -> str:
    """GB 11714 check character for an 8-character organisation code body."""
    total = 0
    for char, weight in zip(body8, _ORG_WEIGHTS, strict=True):
        value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
        total += value * weight
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_build(*, authority: str, org_type: str, division: str, body8: str) -> str:
    """Assemble a valid USCC from its parts (used by the synthetic city and tests)."""
    org_code = body8 + organisation_code_check_char(body8)
    first17 = authority + org_type + division + org_code
    return first17 + uscc_check_char(first17)
