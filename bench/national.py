"""The national dataset: every head of government and superintendent a local election gives (17 metropolitan
heads, 226 local heads, 17 superintendents: 260 officials with ten pledges each), as the Election
Commission's responses, imported beside the generated pledges; a day's plan on their 100th day; and
lookups scoped by region and office.

Each figure stands beside its floor: reading the responses' JSON alone, an ordinary day's plan of the same
subscriptions, and the same search without the scope.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from pathlib import Path

from bench.planning import plan_day
from bench.stats import Row, ms, percentile
from bot import nec
from bot.cli import Bot
from bot.nec_import import NecImport
from bot.officials.regions import SIDO
from bot.replies import Context

SEED = 20260603
ELECTION = "20260603"
# The 100th day of a term that began on 2026-07-01: every official's anniversary at once.
HUNDREDTH_DAY = dt.date(2026, 10, 8)
PLEDGES_EACH = 10
REALMS = ("교통", "주거", "복지", "교육", "경제", "환경", "안전", "문화", "보건", "반려동물")
SYLLABLES = "가나다라마바사아자차카타파하강남북동서산천해평안영성화광명진주원금"
SUFFIXES = "구시군"
WORDS = ("확대", "개선", "지원", "조성", "도입", "강화", "신설", "무상", "공공", "청년")


def generate(out: Path, officials: int, seed: int = SEED) -> list[Path]:
    """The responses of `officials` winners (a metropolitan head and a superintendent per province or
    city first, then local heads), their winners' answers and the operator's file; the files' paths."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    people: list[tuple[str, str, str, str]] = []  # (sgTypecode, sido, sgg, wiw)
    for sido in SIDO:
        people += [("3", sido.name, sido.name, ""), ("11", sido.name, sido.name, "")]
    n = 0
    while len(people) < officials:
        sido = SIDO[n % len(SIDO)]
        place = "".join(rng.choice(SYLLABLES) for _ in range(2)) + f"{n}" + SUFFIXES[n % 3]
        people.append(("4", sido.name, place, place))
        n += 1
    by_type: dict[str, list[dict[str, str]]] = {}
    winners = []
    for index, (type_code, sido_name, sgg, wiw) in enumerate(people[:officials]):
        candidate = f"1{int(type_code):02d}{index:06d}"
        item = {
            "sgId": ELECTION,
            "sgTypecode": type_code,
            "cnddtId": candidate,
            "sidoName": sido_name,
            "sggName": sgg,
            "wiwName": wiw,
            "partyName": rng.choice(("가상정당", "다른정당", "")),
            "krName": rng.choice("김이박최정강조윤") + "".join(rng.choice(SYLLABLES) for _ in range(2)),
            "prmsCnt": str(PLEDGES_EACH),
        }
        for order in range(1, PLEDGES_EACH + 1):
            realm = REALMS[(index + order) % len(REALMS)]
            words = " ".join(rng.choice(WORDS) for _ in range(2))
            item[f"prmsOrd{order}"] = str(order)
            item[f"prmsRealmName{order}"] = realm
            item[f"prmsTitle{order}"] = f"{sgg} {realm} {words}"
            item[f"prmmCont{order}"] = (
                f"○ 목표\n - {sgg}의 {realm} 정책을 {words}하겠습니다.\n○ 이행방법\n - 예산 확보"
            )
        by_type.setdefault(type_code, []).append(item)
        winners.append(
            {"huboid": candidate, "sgId": ELECTION, "sgTypecode": type_code, "name": item["krName"]}
        )
    paths = []
    for type_code, items in sorted(by_type.items()):
        paths.append(_write(out / f"pledges-{type_code}.json", items))
    paths.append(_write(out / "winners.json", winners))
    operator = out / "officials.yaml"
    operator.write_text(
        f'elections:\n  "{ELECTION}": {{start: 2026-07-01, end: 2030-06-30}}\n', encoding="utf-8"
    )
    return [*paths, operator]


def _write(path: Path, items: list[dict[str, str]]) -> Path:
    envelope = {
        "response": {
            "header": {"resultCode": "INFO-00", "resultMsg": "NORMAL SERVICE"},
            "body": {
                "items": {"item": items},
                "numOfRows": len(items),
                "pageNo": 1,
                "totalCount": len(items),
            },
        }
    }
    path.write_text(json.dumps(envelope, ensure_ascii=False), encoding="utf-8")
    return path


def _queries(bot: Bot) -> list[str]:
    """Lookups scoped by region and office, as readers type them: a place and a topic, an office, place and
    topic, an office word and a topic."""
    holders = [o for o in bot.officials.holders() if o.id.startswith("nec-")]
    places = sorted({o.sido or "" for o in holders})
    locals_ = sorted({o.sgg or "" for o in holders if o.level == 2})[:5]
    queries = [f"{p.removesuffix('특별시').removesuffix('광역시')} 교통" for p in places[:6]]
    queries += ["mayor of busan housing", "governor of gyeonggi welfare", "교육감 교육", "시장 복지"]
    queries += [f"{place} 안전" for place in locals_]
    return queries


def measure(bot: Bot, work: Path, officials: int, ordinary_plan: float, rounds: int) -> list[Row]:
    """Import the national dataset into the bench's catalogue, plan its officials' 100th day, and time
    scoped lookups; the rows."""
    paths = generate(work / "national", officials)
    start = time.perf_counter()
    for path in paths:
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    reading = time.perf_counter() - start
    start = time.perf_counter()
    responses, facts = nec.read_files(paths)
    done = NecImport(bot.importer, bot.catalogue).run(paths, responses, facts, author="bench")
    imported = time.perf_counter() - start
    if done.speakers != officials or done.result.added < officials * PLEDGES_EACH:
        raise RuntimeError(f"the national import did not import every official: {done}")
    rows = [
        Row(
            f"National dataset: import of {officials} officials × {PLEDGES_EACH} pledges (NEC responses)",
            imported,
            "s",
            reading,
            "reading the responses' JSON alone",
            target="< 30 s",
            met=imported < 30,
            note=f"{done.result.added:,} records into the catalogue of the generated pledges, one edit",
        )
    ]
    bot.calendars.recheck()
    bot.calendars.current()
    start = time.perf_counter()
    subscriptions, due = plan_day(bot, HUNDREDTH_DAY)
    planned = time.perf_counter() - start
    everyone = bot.digests.digest(HUNDREDTH_DAY)
    hundredth = sum(1 for i in everyone.items if "100 days since" in i.label) if everyone else 0
    rows.append(
        Row(
            f"Plan the officials' 100th day: {subscriptions:,} subscriptions, {hundredth} term anniversaries",
            ms(planned),
            "ms",
            ms(ordinary_plan),
            "an ordinary day's plan (above)",
            target="< 200 ms",
            met=planned < 0.2,
            note=f"{due:,} digests due",
        )
    )
    ctx = Context(platform="bench", workspace="w", channel="c", user="u")
    queries = _queries(bot)
    scoped: list[float] = []
    plain: list[float] = []
    for _ in range(rounds):
        for query in queries:
            # Every round asks the same questions: each timed afresh, not from the answers kept last round.
            bot.searcher.forget()
            start = time.perf_counter()
            bot.core.handle(query, ctx)
            scoped.append(time.perf_counter() - start)
            rest = bot.officials.scope(query).rest or query
            bot.searcher.forget()
            start = time.perf_counter()
            bot.searcher.search(rest, limit=3)
            plain.append(time.perf_counter() - start)
    for name, pct in (("p50", 50), ("p99", 99)):
        value, floor = ms(percentile(scoped, pct)), ms(percentile(plain, pct))
        rows.append(
            Row(
                f"Lookup scoped by region or office {name} (`core.handle`)",
                value,
                "ms",
                floor,
                "the search of the same words without the scope",
                target="< 5 ms" if name == "p99" else "",
                met=value < 5 if name == "p99" else None,
                note=f"{len(scoped):,} lookups over {len(queries)} queries",
            )
        )
    return rows
