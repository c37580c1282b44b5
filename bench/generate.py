"""Deterministic synthetic data at scale: pledges in English and Korean, sources, quotes, milestones.

`python -m bench.generate --pledges 100000 --subscriptions 10000 --out DIR` writes, in the import format
described in README "Data":

- `catalogue.json`: speakers and sources (each source names its full text in `sources/`);
- `pledges.json`: pledges with English and Korean titles and aliases, and their quotes and statuses as flat
  tables (every quote is a verbatim substring of its source's text); one pledge in ten has a deadline date
  (`due_on`) and one in ten a deadline rule (`due: {after: <the next inauguration, or its own pledged
  milestone>, days: N}`);
- `milestones.json`: elections, inaugurations, deadlines and events (every pledge's `pledged_on` adds one
  more);
- `sources/*.txt`: the full texts the quotes are taken from;
- `subscriptions.jsonl`: channel subscriptions, one JSON object a line, one in four following one to three
  topics and one in fifty two pledges. These are user state, not dataset records: `insert_subscriptions`
  adds them through `bot.state.Subscriptions`. (`.jsonl` is not a dataset suffix, so `pledgebot validate`
  and the data-dir loader ignore the file.)

The same arguments and seed always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 20250526
START = dt.date(2016, 1, 1)
END = dt.date(2025, 12, 31)
PLEDGES_PER_SOURCE = 50
KOREAN_QUOTE_SHARE = 0.4
SUBSCRIPTIONS_FILE = "subscriptions.jsonl"
# The years of each speaker's elections and inaugurations (in June, so a pledge before 1 June precedes one).
TERMS = tuple(range(START.year, END.year + 1, 4))

VERBS = (
    ("Expand", "확대"),
    ("Build", "건립"),
    ("Cut", "감축"),
    ("Fund", "지원"),
    ("Reform", "개혁"),
    ("Restore", "복원"),
    ("Protect", "보호"),
    ("Modernise", "현대화"),
    ("Create", "신설"),
    ("Guarantee", "보장"),
    ("Strengthen", "강화"),
    ("Open", "개방"),
)
# English noun phrases with their Korean counterparts (real words, so Korean queries look like readers').
TOPICS = (
    ("public housing", "공공 임대주택"),
    ("youth jobs", "청년 일자리"),
    ("childcare centres", "어린이집"),
    ("elderly care", "노인 돌봄"),
    ("school meals", "무상 급식"),
    ("tuition support", "등록금 지원"),
    ("bus routes", "버스 노선"),
    ("subway lines", "지하철 노선"),
    ("rail links", "철도 연결"),
    ("regional hospitals", "지역 병원"),
    ("emergency rooms", "응급실"),
    ("small business loans", "소상공인 대출"),
    ("startup funds", "창업 자금"),
    ("property taxes", "재산세"),
    ("carbon emissions", "탄소 배출"),
    ("solar power", "태양광 발전"),
    ("hydrogen buses", "수소 버스"),
    ("fine dust", "미세먼지"),
    ("disaster response", "재난 대응"),
    ("police patrols", "경찰 순찰"),
    ("soldiers' pay", "병사 월급"),
    ("military hotlines", "군 통신선"),
    ("inter-Korean dialogue", "남북 대화"),
    ("alliance cooperation", "동맹 협력"),
    ("farm subsidies", "농업 보조금"),
    ("fishing ports", "어항"),
    ("cultural centres", "문화 센터"),
    ("sports facilities", "체육 시설"),
    ("tourism zones", "관광 특구"),
    ("research grants", "연구 개발비"),
    ("artificial intelligence", "인공지능"),
    ("digital government", "디지털 정부"),
    ("broadband access", "초고속 인터넷"),
    ("pension benefits", "기초 연금"),
    ("child allowances", "아동 수당"),
    ("birth incentives", "출산 장려금"),
    ("parental leave", "육아 휴직"),
    ("minimum wage", "최저 임금"),
    ("working hours", "노동 시간"),
    ("rent controls", "전월세 상한"),
    ("apartment supply", "아파트 공급"),
    ("river parks", "하천 공원"),
    ("water quality", "수질 관리"),
    ("recycling centres", "재활용 센터"),
    ("mental health", "정신 건강"),
    ("public libraries", "공공 도서관"),
    ("night clinics", "야간 진료"),
    ("traffic safety", "교통 안전"),
    ("parking spaces", "주차장"),
    ("coastal defence", "해안 방어"),
)
CATEGORIES = (
    ("Housing", "주거"),
    ("Jobs", "일자리"),
    ("Education", "교육"),
    ("Welfare", "복지"),
    ("Health", "보건"),
    ("Transport", "교통"),
    ("Environment", "환경"),
    ("Economy", "경제"),
    ("Defense", "국방"),
    ("North Korea", "북한"),
    ("Diplomacy", "외교"),
    ("Culture", "문화"),
    ("Science", "과학"),
    ("Agriculture", "농업"),
    ("Safety", "안전"),
    ("Labour", "노동"),
)
ADJECTIVES = (
    "affordable",
    "local",
    "national",
    "regional",
    "free",
    "universal",
    "green",
    "safer",
    "faster",
    "modern",
    "public",
    "accessible",
)
AUDIENCES = (
    "families",
    "students",
    "farmers",
    "commuters",
    "pensioners",
    "veterans",
    "residents",
    "workers",
    "patients",
    "parents",
)
SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구"
GIVEN = "민서준지현우도윤하은수영재진성호예원태경희정연아유나혜동석철"
PLACE_SYLLABLES = "가나다라마바사아자차카타파하강남북동서산천해평안영성화광명진주원금"
PLACE_SUFFIXES = (("-gu", "구"), ("-si", "시"), ("-gun", "군"), ("-dong", "동"))
OUTLETS = (
    "Korea JoongAng Daily",
    "The Korea Herald",
    "The Korea Times",
    "Yonhap News Agency",
    "Hankyoreh",
    "Kyunghyang Shinmun",
)
KOREAN_OUTLETS = ("선거관리위원회 공약집", "후보 공식 블로그", "정책 발표회", "유세 연설")
FILLER = (
    "The campaign said details would follow in the coming weeks.",
    "Opponents questioned how the plan would be funded.",
    "Officials estimated the cost over the next five years.",
    "The announcement drew a crowd of several hundred supporters.",
    "Analysts said the proposal echoed earlier commitments.",
)
KOREAN_FILLER = (
    "세부 계획은 추후 발표될 예정이다.",
    "재원 마련 방안에 대한 질문이 이어졌다.",
    "현장에는 지지자 수백 명이 모였다.",
)
STATUS_FLOW = ("in the works", "stalled", "compromise", "kept", "broken")
ZONES = (
    "Asia/Seoul",
    "Asia/Seoul",
    "Asia/Seoul",
    "Asia/Tokyo",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
)
LEAD_DAYS = (0, 0, 0, 1, 7, 30)


@dataclass
class Generated:
    """What one run wrote: counts per table, for the report."""

    pledges: int
    quotes: int
    statuses: int
    milestones: int
    sources: int
    speakers: int
    subscriptions: int
    bytes: int
    deadlines: int = 0
    topic_filtered: int = 0
    pledge_filtered: int = 0


def _place(rng: random.Random) -> tuple[str, str]:
    """A made-up Korean place name, romanised and in Hangul (e.g. "Hwaseong-gu", "화성구")."""
    syllables = "".join(rng.choice(PLACE_SYLLABLES) for _ in range(2))
    suffix_en, suffix_ko = rng.choice(PLACE_SUFFIXES)
    return _romanise(syllables).capitalize() + suffix_en, syllables + suffix_ko


_ROMAN = dict(
    zip(
        PLACE_SYLLABLES,
        (
            *("ga", "na", "da", "ra", "ma", "ba", "sa", "a", "ja", "cha", "ka", "ta", "pa", "ha", "gang"),
            *("nam", "buk", "dong", "seo", "san", "cheon", "hae", "pyeong", "an", "yeong", "seong", "hwa"),
            *("gwang", "myeong", "jin", "ju", "won", "geum"),
        ),
        strict=True,
    )
)


def _romanise(syllables: str) -> str:
    return "".join(_ROMAN[s] for s in syllables)


def _day(rng: random.Random, start: dt.date = START, end: dt.date = END) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def generate(out: Path, pledges: int, subscriptions: int, seed: int = SEED) -> Generated:
    """Write the dataset files, source texts and subscriptions for `pledges` pledges into `out`."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    texts = out / "sources"
    texts.mkdir(exist_ok=True)

    speaker_count = max(2, min(200, pledges // 500))
    speakers = []
    for i in range(speaker_count):
        name_ko = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        place_en, place_ko = _place(rng)
        speakers.append(
            {
                "id": f"speaker-{i:03d}",
                "name": f"Candidate {i:03d}",
                "name_ko": name_ko,
                "role": f"Candidate for mayor of {place_en}" if i else "Presidential candidate",
            }
        )

    # Pledges in date order, so that each source (an article, a speech) covers pledges made around its date.
    dates = sorted(_day(rng) for _ in range(pledges))
    rows: list[dict[str, Any]] = []
    quotes: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    source_texts: dict[str, list[str]] = {}
    en_source = ko_source = ""
    ko_in_source = 0
    ko_day: dt.date | None = None
    for index, pledged_on in enumerate(dates):
        speaker = speakers[rng.randrange(speaker_count)]
        verb_en, verb_ko = rng.choice(VERBS)
        topic_en, topic_ko = rng.choice(TOPICS)
        category_en, category_ko = rng.choice(CATEGORIES)
        place_en, place_ko = _place(rng)
        adjective = rng.choice(ADJECTIVES)
        audience = rng.choice(AUDIENCES)
        title = f"{verb_en} {adjective} {topic_en} for {audience} in {place_en}"
        title_ko = f"{place_ko} {topic_ko} {verb_ko}"
        slug = topic_en.lower().replace("'", "").replace(" ", "-")
        pledge_id = f"{slug}-{place_en.lower()}-{index:06d}"

        if index % PLEDGES_PER_SOURCE == 0:
            en_source = f"news-{index // PLEDGES_PER_SOURCE:05d}"
            published = dates[min(index + PLEDGES_PER_SOURCE - 1, pledges - 1)] + dt.timedelta(days=1)
            sources.append(
                {
                    "id": en_source,
                    "kind": "news report",
                    "outlet": rng.choice(OUTLETS),
                    "headline": f"Candidates unveil {topic_en} and other pledges",
                    "published_at": f"{published.isoformat()}T{rng.randrange(7, 22):02d}:"
                    f"{rng.randrange(60):02d}:00+09:00",
                    "language": "en",
                    "url": f"https://news.example/{en_source}",
                    "text_file": f"sources/{en_source}.txt",
                }
            )
            source_texts[en_source] = [f"Candidates unveil {topic_en} and other pledges."]
        quote = (
            f"I will {verb_en.lower()} {adjective} {topic_en} for the {audience} of {place_en}, "
            f"starting in {pledged_on.year + 1}."
        )
        source_texts[en_source].append(
            f"{speaker['name']} said on {pledged_on.isoformat()}: “{quote}” {rng.choice(FILLER)}"
        )
        pledge_quotes = [
            {"pledge": pledge_id, "text": quote, "source": en_source, "said_on": pledged_on.isoformat()}
        ]
        if rng.random() < KOREAN_QUOTE_SHARE:
            # A speech is published the day it is given: its quotes were all said on that day.
            if not ko_source or ko_in_source >= PLEDGES_PER_SOURCE or ko_day != pledged_on:
                ko_source = f"speech-{len(sources):05d}"
                ko_in_source, ko_day = 0, pledged_on
                sources.append(
                    {
                        "id": ko_source,
                        "kind": rng.choice(("speech", "platform document")),
                        "outlet": rng.choice(KOREAN_OUTLETS),
                        "headline": f"{place_ko} 공약 발표",
                        "published_at": pledged_on.isoformat(),
                        "language": "ko",
                        "text_file": f"sources/{ko_source}.txt",
                    }
                )
                source_texts[ko_source] = [f"{place_ko} 공약 발표문"]
            ko_in_source += 1
            quote_ko = f"{place_ko}의 {topic_ko}을(를) {verb_ko}하겠습니다."
            source_texts[ko_source].append(
                f"{speaker['name_ko']} 후보: “{quote_ko}” {rng.choice(KOREAN_FILLER)}"
            )
            pledge_quotes.append(
                {
                    "pledge": pledge_id,
                    "text": quote_ko,
                    "source": ko_source,
                    "said_on": pledged_on.isoformat(),
                    "language": "ko",
                }
            )
        quotes.extend(pledge_quotes)

        statuses.append(
            {
                "pledge": pledge_id,
                "status": "not yet rated",
                "date": pledged_on.isoformat(),
                "source": en_source,
            }
        )
        if rng.random() < 0.5:
            reviewed = pledged_on + dt.timedelta(days=rng.randrange(30, 1500))
            statuses.append(
                {
                    "pledge": pledge_id,
                    "status": rng.choice(STATUS_FLOW),
                    "date": reviewed.isoformat(),
                    "note": f"Reviewed against the {reviewed.year} budget.",
                }
            )

        aliases = [f"{adjective} {topic_en}", topic_en, f"{topic_en} in {place_en}"]
        aliases_ko = [topic_ko.replace(" ", ""), f"{place_ko} {topic_ko}"]
        rows.append(
            {
                "id": pledge_id,
                "speaker": speaker["id"],
                "title": title,
                "title_ko": title_ko,
                "category": category_en,
                "category_ko": category_ko,
                "summary": f"{speaker['name']} pledged to {verb_en.lower()} {topic_en} in {place_en}, "
                f"aimed at {audience}.",
                "aliases": aliases,
                "aliases_ko": aliases_ko,
                "pledged_on": pledged_on.isoformat(),
            }
        )
        if index % 10 == 0:
            rows[-1]["due_on"] = (pledged_on + dt.timedelta(days=rng.randrange(100, 1500))).isoformat()
        elif index % 10 == 5:
            # "Within N days of taking office" when the speaker takes office after the pledge, else N days
            # from the pledge itself (its own `pledged-<id>` milestone).
            after = next((y for y in TERMS if dt.date(y, 6, 1) > pledged_on), None)
            rows[-1]["due"] = {
                "after": f"inauguration-{speaker['id']}-{after}" if after else f"pledged-{pledge_id}",
                "days": rng.choice((100, 365, 1000)),
            }

    milestones = []
    for speaker in speakers:
        for year in TERMS:
            election = dt.date(year, 6, rng.randrange(1, 10))
            milestones.append(
                {
                    "id": f"election-{speaker['id']}-{year}",
                    "date": election.isoformat(),
                    "kind": "election",
                    "title": f"{speaker['name']} stood for election",
                    "speaker": speaker["id"],
                }
            )
            milestones.append(
                {
                    "id": f"inauguration-{speaker['id']}-{year}",
                    "date": (election + dt.timedelta(days=27)).isoformat(),
                    "kind": "inauguration",
                    "title": f"{speaker['name']} took office",
                    "speaker": speaker["id"],
                }
            )
    for row in rows[:: max(1, pledges // 1000)]:
        start = dt.date.fromisoformat(row["pledged_on"])
        milestones.append(
            {
                "id": f"deadline-{row['id']}",
                "date": (start + dt.timedelta(days=rng.randrange(365, 1460))).isoformat(),
                "kind": "deadline",
                "title": f"Deadline: {row['title']}",
                "pledge": row["id"],
                "speaker": row["speaker"],
            }
        )

    written = _dump(out / "catalogue.json", {"speakers": speakers, "sources": sources})
    written += _dump(out / "pledges.json", {"pledges": rows, "quotes": quotes, "statuses": statuses})
    written += _dump(out / "milestones.json", {"milestones": milestones})
    for source_id, paragraphs in source_texts.items():
        data = ("\n\n".join(paragraphs) + "\n").encode()
        (texts / f"{source_id}.txt").write_bytes(data)
        written += len(data)
    subs = _subscriptions(rng, subscriptions, [row["id"] for row in rows])
    lines = [json.dumps(s, ensure_ascii=False) for s in subs]
    (out / SUBSCRIPTIONS_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return Generated(
        pledges=len(rows),
        quotes=len(quotes),
        statuses=len(statuses),
        milestones=len(milestones) + len(rows),
        sources=len(sources),
        speakers=len(speakers),
        subscriptions=len(lines),
        bytes=written,
        deadlines=sum(1 for row in rows if "due_on" in row or "due" in row),
        topic_filtered=sum(1 for sub in subs if sub.get("topics")),
        pledge_filtered=sum(1 for sub in subs if sub.get("pledges")),
    )


def _subscriptions(rng: random.Random, count: int, pledge_ids: list[str]) -> list[dict[str, Any]]:
    subs = []
    categories = [english for english, _ in CATEGORIES]
    for i in range(count):
        platform = "slack" if i % 3 else "discord"
        workspace = f"T{i // 40:05d}" if platform == "slack" else str(111_000_000_000_000_000 + i // 40)
        subs.append(
            {
                "platform": platform,
                "workspace": workspace,
                "channel": f"C{i:07d}" if platform == "slack" else str(222_000_000_000_000_000 + i),
                "local_time": f"{rng.randrange(6, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                "timezone": rng.choice(ZONES),
                "lead_days": rng.choice(LEAD_DAYS),
                "created_by": f"U{i:07d}",
            }
        )
        if i % 4 == 0:
            subs[-1]["topics"] = sorted(rng.sample(categories, rng.randrange(1, 4)))
        if i % 50 == 1:
            subs[-1]["pledges"] = sorted(rng.sample(pledge_ids, min(2, len(pledge_ids))))
    return subs


def insert_subscriptions(subscriptions: Any, path: Path, now: dt.datetime) -> int:
    """Add every subscription in a `subscriptions.jsonl` through `Subscriptions.subscribe`; the count."""
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            s = json.loads(line)
            subscriptions.subscribe(
                s["platform"],
                s["workspace"],
                s["channel"],
                dt.time.fromisoformat(s["local_time"]),
                s["timezone"],
                s["lead_days"],
                s["created_by"],
                now,
                topics=tuple(s.get("topics", ())),
                pledges=tuple(s.get("pledges", ())),
            )
            count += 1
    return count


def bulk_insert_subscriptions(backend: Any, path: Path, now: dt.datetime) -> int:
    """The same subscriptions as `insert_subscriptions`, in one transaction on a state backend (setup only:
    one durable commit instead of one per subscription); the count."""
    with path.open(encoding="utf-8") as lines:
        subs = [json.loads(line) for line in lines]
        rows = [
            [
                s["platform"],
                s["workspace"],
                s["channel"],
                s["local_time"],
                s["timezone"],
                s["lead_days"],
                s["created_by"],
                now.isoformat(),
            ]
            for s in subs
        ]
    with backend.transaction() as db:
        db.executemany(
            "INSERT INTO subscriptions (platform, workspace, channel, local_time, timezone, lead_days, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        ids = {
            (platform, workspace, channel): sub_id
            for sub_id, platform, workspace, channel in db.execute(
                "SELECT id, platform, workspace, channel FROM subscriptions"
            ).fetchall()
        }
        filters = [
            [ids[(s["platform"], s["workspace"], s["channel"])], kind, value]
            for s in subs
            for kind, key in (("topic", "topics"), ("pledge", "pledges"))
            for value in s.get(key, ())
        ]
        db.executemany(
            "INSERT INTO subscription_filters (subscription_id, kind, value) VALUES (?, ?, ?)", filters
        )
    return len(rows)


def _dump(path: Path, document: dict[str, Any]) -> int:
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    path.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> int:
    """The command line: write a synthetic dataset of the requested size."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=100_000, help="number of pledges (default 100000)")
    parser.add_argument("--subscriptions", type=int, default=10_000, help="number of subscriptions")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the dataset into")
    args = parser.parse_args(argv)
    if args.pledges < 1 or args.subscriptions < 0:
        parser.error("--pledges must be at least 1 and --subscriptions not negative")
    made = generate(args.out, args.pledges, args.subscriptions, args.seed)
    print(
        f"wrote {made.pledges:,} pledges, {made.quotes:,} quotes, {made.statuses:,} statuses, "
        f"{made.milestones:,} milestones (incl. pledged), {made.sources:,} sources, "
        f"{made.speakers} speakers, "
        f"{made.subscriptions:,} subscriptions ({made.bytes / 1e6:.1f} MB) to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
