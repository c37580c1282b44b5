"""Korean lookups two ways: the index's Hangul bigrams with the query's particles cut (what ships), and the
nouns of a morphological analyser (kiwipiepy), on the same questions and the same catalogue.

The catalogue is the seed data plus a generated data set (`bench/generate.py`, Korean titles, aliases and
quotes). Each question names the pledges it is after: a seed pledge by id, or, for a generated one, every
pledge whose Korean title holds the question's place, topic and verb. Reported per way: hits@1 (the first
answer is one it is after), recall@5 and recall@10 (of the pledges it is after, up to five or ten, how
many are in the first five or ten), and the cost of one lookup (p50/p99, the analyser's own time included).

    python -m bench.korean [--pledges 2000]

The analyser is optional: `pip install kiwipiepy` to measure it too; without it only the bigrams are run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import generate
from bot.search import KOREAN_FRAME_WORDS, KOREAN_QUESTION_WORDS

SEED_DATA = Path(__file__).resolve().parent.parent / "data"
# Questions about the seed pledges as readers type them: compounds without their spaces, particles, whole
# questions.
SEED_QUESTIONS = (
    ("핫라인에 대한 정책은?", "inter-korean-hotline"),
    ("남북 통신선이 궁금해요", "inter-korean-hotline"),
    ("남북통신선", "inter-korean-hotline"),
    ("군통신선 복원", "inter-korean-hotline"),
    ("실용외교란?", "pragmatic-diplomacy"),
    ("국익중심 외교", "pragmatic-diplomacy"),
    ("한미동맹 신뢰회복", "alliance-trust"),
    ("한미일협력에 대해", "korea-us-japan-cooperation"),
    ("한일관계는 어떻게", "japan-relations"),
    ("과거사 문제", "japan-relations"),
    ("한중관계를", "china-relations"),
    ("우크라이나재건 참여", "russia-ukraine"),
    ("비핵화에 대한 입장은?", "peace-denuclearization"),
    ("한반도평화", "peace-denuclearization"),
    ("코리아리스크 해소", "korea-risk"),
    ("남북대화와 교류", "inter-korean-dialogue"),
    ("이산가족 지원은?", "humanitarian-human-rights"),
    ("북한인권", "humanitarian-human-rights"),
    ("탈북민 지원 정책", "humanitarian-human-rights"),
    ("평화통일에 대한 공약", "reunification-social-dialogue"),
    ("확장억제 강화", "defense-deterrence"),
    ("문민통제를 강화", "armed-forces-reform"),
    ("군인사제도 개혁", "armed-forces-reform"),
    ("쿠데타", "armed-forces-reform"),
)


def _object_particle(word: str) -> str:
    """을 after a final consonant, 를 after a vowel, as Korean writes it."""
    return "을" if (ord(word[-1]) - 0xAC00) % 28 else "를"


def generated_questions(titles: dict[str, str], count: int) -> list[tuple[str, set[str]]]:
    """Questions about generated pledges: (text, the ids of every pledge whose title holds its parts)."""
    rng = random.Random(14)
    out: list[tuple[str, set[str]]] = []
    for pledge_id in rng.sample(sorted(titles), count):
        place, *topic, verb = titles[pledge_id].split()
        compound = "".join(topic)
        templates = (
            (f"{place} {compound}", (place, " ".join(topic))),
            (f"{compound}{_object_particle(compound)} {verb}하는 공약은?", (" ".join(topic), verb)),
            (f"{place}의 {' '.join(topic)}", (place, " ".join(topic))),
        )
        text, parts = templates[len(out) % len(templates)]
        wanted = {i for i, t in titles.items() if all(p in t for p in parts)}
        out.append((text, wanted))
    return out


def _measure(search, questions: list[tuple[str, set[str]]]) -> dict[str, float]:
    hits, recall, recall5, costs = 0, [], [], []
    for text, wanted in questions:
        start = time.perf_counter()
        ids = search(text)
        costs.append((time.perf_counter() - start) * 1000)
        hits += bool(ids) and ids[0] in wanted
        recall.append(len(set(ids[:10]) & wanted) / min(10, len(wanted)))
        recall5.append(len(set(ids[:5]) & wanted) / min(5, len(wanted)))
    costs.sort()
    return {
        "hits@1": hits / len(questions),
        "recall@5": statistics.fmean(recall5),
        "recall@10": statistics.fmean(recall),
        "p50 ms": costs[len(costs) // 2],
        "p99 ms": costs[min(len(costs) - 1, int(len(costs) * 0.99))],
    }


def _kiwi_search(db_path: Path):
    """The analyser's way: every pledge's Korean text as its nouns, a query as its nouns, all required."""
    from kiwipiepy import Kiwi  # optional: only this measurement needs it

    start = time.perf_counter()
    kiwi = Kiwi()
    loaded = time.perf_counter() - start

    def nouns(text: str) -> list[str]:
        return [t.form for t in kiwi.tokenize(text) if t.tag.startswith(("NN", "SL", "SN", "XR"))]

    source = sqlite3.connect(db_path)
    index = sqlite3.connect(":memory:")
    index.execute("CREATE VIRTUAL TABLE k USING fts5(pledge_id UNINDEXED, nouns)")
    rows = source.execute(
        "SELECT p.id, coalesce(p.title_ko, '') || ' ' || coalesce(p.aliases_ko, '') || ' ' || "
        "coalesce(p.category_ko, '') || ' ' || coalesce(s.name_ko, '') || ' ' || "
        "coalesce((SELECT group_concat(text, ' ') FROM quotes q "
        "WHERE q.pledge = p.id AND q.language = 'ko'), '') "
        "FROM pledges p LEFT JOIN speakers s ON s.id = p.speaker"
    ).fetchall()
    start = time.perf_counter()
    index.executemany("INSERT INTO k VALUES (?, ?)", [(pid, " ".join(nouns(text))) for pid, text in rows])
    indexed = time.perf_counter() - start
    source.close()

    def search(text: str) -> list[str]:
        terms = [n for n in nouns(text) if n not in KOREAN_QUESTION_WORDS]
        if any(n not in KOREAN_FRAME_WORDS for n in terms):
            terms = [n for n in terms if n not in KOREAN_FRAME_WORDS]
        if not terms:
            return []
        expression = " AND ".join('"' + n.replace('"', "") + '"' for n in dict.fromkeys(terms))
        return [
            r[0]
            for r in index.execute(
                "SELECT pledge_id FROM k WHERE k MATCH ? ORDER BY rank LIMIT 10", [expression]
            )
        ]

    return search, loaded, indexed


def main(argv: list[str] | None = None) -> int:
    from bot.cli import open_bot
    from bot.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=2000, help="generated pledges beside the seed data")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        generate.generate(data, args.pledges, 0)
        for path in SEED_DATA.glob("*.yaml"):
            shutil.copy(path, data / path.name)
        for path in (SEED_DATA / "sources").iterdir():
            shutil.copy(path, data / "sources" / path.name)
        db = Path(folder) / "pledgebot.db"
        bot = open_bot(Settings(db_path=db, data_dir=data))
        try:
            titles = {
                pid: title
                for pid, title in bot.store.db.execute(
                    "SELECT id, title_ko FROM pledges WHERE speaker != 'lee-jae-myung'"
                )
            }
            questions = [(text, {pid}) for text, pid in SEED_QUESTIONS]
            questions += generated_questions(titles, 24)
            ways = {"bigrams + particles cut": lambda q: bot.searcher.search(q, limit=10).ids}
            note = ""
            try:
                kiwi, loaded, indexed = _kiwi_search(db)
                ways["kiwipiepy nouns"] = kiwi
                note = (
                    f"kiwipiepy: model loaded in {loaded:.2f} s, "
                    f"{len(titles) + 15} pledges analysed in {indexed:.2f} s"
                )
            except ImportError:
                note = "kiwipiepy is not installed: `pip install kiwipiepy` to measure it too"
            print(
                f"{len(questions)} questions ({len(SEED_QUESTIONS)} on the seed data), "
                f"{len(titles)} generated pledges"
            )
            for name, search in ways.items():
                search(questions[0][0])  # warm
                measured = _measure(search, questions)
                print(f"{name:26}" + "  ".join(f"{k} {v:.3f}" for k, v in measured.items()))
            print(note)
        finally:
            bot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
