"""The seventeen provinces and metropolitan cities (시·도) as the Election Commission names them, with the
short Korean and English names readers type (서울, Seoul), and how an office there is named."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sido:
    """One province or metropolitan city: its full Korean name, its short name and its English name."""

    name: str
    short: str
    english: str

    @property
    def city(self) -> bool:
        """A metropolitan city (its head is a mayor, 시장), not a province (a governor, 도지사)."""
        return self.name.endswith("시")


SIDO = (
    Sido("서울특별시", "서울", "Seoul"),
    Sido("부산광역시", "부산", "Busan"),
    Sido("대구광역시", "대구", "Daegu"),
    Sido("인천광역시", "인천", "Incheon"),
    Sido("광주광역시", "광주", "Gwangju"),
    Sido("대전광역시", "대전", "Daejeon"),
    Sido("울산광역시", "울산", "Ulsan"),
    Sido("세종특별자치시", "세종", "Sejong"),
    Sido("경기도", "경기", "Gyeonggi"),
    Sido("강원특별자치도", "강원", "Gangwon"),
    Sido("충청북도", "충북", "North Chungcheong"),
    Sido("충청남도", "충남", "South Chungcheong"),
    Sido("전북특별자치도", "전북", "North Jeolla"),
    Sido("전라남도", "전남", "South Jeolla"),
    Sido("경상북도", "경북", "North Gyeongsang"),
    Sido("경상남도", "경남", "South Gyeongsang"),
    Sido("제주특별자치도", "제주", "Jeju"),
)
# Older names the portal still uses for elections before the provinces were renamed.
_FORMER = {"강원도": "강원특별자치도", "전라북도": "전북특별자치도"}
_BY_WORD = {
    word.casefold(): sido
    for sido in SIDO
    for word in (
        sido.name,
        sido.short,
        sido.english,
        *(old for old, new in _FORMER.items() if new == sido.name),
    )
}


def sido(word: str) -> Sido | None:
    """The province or metropolitan city `word` names (서울특별시, 서울, Seoul, seoul), or None."""
    return _BY_WORD.get(" ".join(word.split()).casefold())


def sido_words() -> list[str]:
    """Every name of every province and metropolitan city, casefolded, longest first (for phrases)."""
    return sorted(_BY_WORD, key=len, reverse=True)
