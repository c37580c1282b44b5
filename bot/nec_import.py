"""The Election Commission's responses as one import: winners (or, when asked, every candidate) with their
offices and terms, their pledges as verbatim Korean quotes, journalled as one edit.

Ids are stable: a speaker `nec-<sgId>-<cnddtId>` (or the id the operator gives), a pledge
`nec-<sgId>-<cnddtId>-<order>`, the registry `nec-<sgId>-<sgTypecode>`; so importing the same responses again
changes nothing, and a pledge whose registered title or text changed is replaced in one journalled edit that
keeps the old values and the diff, never overwritten silently.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import dataset as ds
from bot.catalogue import Catalogue
from bot.importing import Importer, ImportResult
from bot.nec import (
    MAX_PLEDGES,
    REALMS,
    SERVICE,
    SERVICE_URL,
    TYPES,
    Facts,
    NecError,
    Response,
    Winner,
    candidate_of,
    election_day,
    sg_id_of,
)
from bot.officials import regions


@dataclass
class NecResult:
    """What an NEC import did: the import's result, how many candidates were skipped (did not win), and the
    diff of each pledge whose registered words changed."""

    result: ImportResult
    speakers: int
    skipped: int
    diffs: dict[str, str] = field(default_factory=dict)


def office(type_code: str, sido: str, sgg: str) -> tuple[str, str]:
    """The office an election of `type_code` fills in a place, in English and Korean (대통령, 서울특별시장,
    경기도지사, 종로구청장, 수원시장, 가평군수, 부산광역시교육감)."""
    place = regions.sido(sido)
    english = place.english if place else sido
    if type_code == "1":
        return "President", "대통령"
    if type_code == "3":
        if place is not None and not place.city:
            return f"Governor of {english}", f"{sido}지사"
        return f"Mayor of {english}", f"{sido}장"
    if type_code == "11":
        return f"Superintendent of Education of {english}", f"{sido}교육감"
    # A city (시), county (군) or district (구): its head is 시장, 군수 or 구청장.
    suffix = {"시": "장", "군": "수", "구": "청장"}.get(sgg[-1:], "장")
    return f"Head of {sgg}, {english}", f"{sgg}{suffix}"


class NecImport:
    """Builds the records of saved responses and imports them through the importer's checks and journal."""

    def __init__(self, importer: Importer, catalogue: Catalogue):
        self.importer = importer
        self.catalogue = catalogue

    def run(
        self,
        paths: list[Path],
        responses: list[Response],
        facts: Facts,
        *,
        author: str,
        note: str = "",
        all_candidates: bool = False,
    ) -> NecResult:
        """Import `responses` (their winners, or every candidate with `all_candidates`). Raises NecError or
        ds.DatasetError before anything is written."""
        if not facts.winners and not all_candidates:
            raise NecError(
                "no winners given: add the winners service's saved response or an operator's file "
                "(officials), or give --all-candidates"
            )
        records, skipped, speakers = self._records(responses, facts, all_candidates)
        data = ds.Dataset(records=records)
        checked = self.importer.check_dataset(data, replace=True)
        diffs = self._changed(data, checked.present, checked.replaces)
        result = self.importer.import_checked(
            paths, checked, author=author, note=note, extra={"diffs": diffs} if diffs else None
        )
        return NecResult(result, speakers, skipped, diffs)

    def _records(
        self, responses: list[Response], facts: Facts, all_candidates: bool
    ) -> tuple[list[ds.Record], int, int]:
        records: list[ds.Record] = []
        sources: set[str] = set()
        speakers: set[str] = set()
        skipped = 0
        for response in responses:
            for index, item in enumerate(response.items, 1):
                where = f"{response.name}: item {index}"
                sg_id = sg_id_of(item, where)
                type_code = (item.get("sgTypecode") or "").strip()
                if type_code not in TYPES:
                    known = ", ".join(TYPES)
                    raise NecError(f"{where}: field 'sgTypecode': '{type_code}' is not one of {known}")
                candidate = candidate_of(item.get("cnddtId"), where, "cnddtId")
                name_ko = (item.get("krName") or "").strip()
                if not name_ko:
                    raise NecError(f"{where}: field 'krName': is required")
                winner = facts.winners.get((sg_id, candidate))
                if winner is None and not all_candidates:
                    skipped += 1
                    continue
                source = f"nec-{sg_id}-{type_code}"
                if source not in sources:
                    sources.add(source)
                    records.append(_source(source, sg_id, type_code, where))
                speaker = (winner.speaker if winner else "") or f"nec-{sg_id}-{candidate}"
                if speaker not in speakers:
                    speakers.add(speaker)
                    records.append(self._speaker(speaker, item, winner, facts, sg_id, type_code, where))
                records += _pledges(item, speaker, source, sg_id, candidate, where)
        return records, skipped, len(speakers)

    def _speaker(
        self,
        speaker: str,
        item: dict[str, str],
        winner: Winner | None,
        facts: Facts,
        sg_id: str,
        type_code: str,
        where: str,
    ) -> ds.Record:
        sido = (item.get("sidoName") or item.get("sdName") or "").strip()
        sgg = (item.get("sggName") or "").strip()
        wiw = (item.get("wiwName") or "").strip()
        english, korean = office(type_code, sido, sgg)
        party = (item.get("partyName") or "").strip()
        values: dict[str, Any] = {
            "id": speaker,
            "name": (winner.name if winner else "") or item["krName"].strip(),
            "name_ko": item["krName"].strip(),
            "sido": sido,
            "sgg": sgg,
            "wiw": wiw,
            "party": party,
            "party_ko": party,
        }
        if winner is None:
            values["role"] = f"Candidate for {english} ({election_day(sg_id).isoformat()})"
            values["role_ko"] = f"{korean} 후보 ({election_day(sg_id).isoformat()})"
        else:
            values["office"] = winner.office or english
            values["office_ko"] = winner.office_ko or korean
            start, end = winner.start, winner.end
            if start is None and sg_id in facts.terms:
                start, end = facts.terms[sg_id][0], end or facts.terms[sg_id][1]
            if start is not None:
                term: dict[str, Any] = {"start": start, "election": f"nec-{sg_id}-{type_code}"}
                if end is not None:
                    term["end"] = end
                values["terms"] = [term]
        return ds.Record("speakers", {k: v for k, v in values.items() if v not in ("", None)}, where)

    def _changed(self, data: ds.Dataset, present: set[int], replaces: set[str]) -> dict[str, str]:
        """Pledges already in the catalogue whose registered title or text changed: each is replaced whole
        (its old quote goes, the journal keeps it), with a diff of what changed. Updates `present` and
        `replaces` in place."""
        index = {r.values["id"]: n for n, r in enumerate(data.records) if r.table == "pledges"}
        known = self.catalogue.pledges(list(index))
        old_quotes: dict[str, list[str]] = {}
        for quote in self.catalogue.quotes(list(known), lead_only=False):
            old_quotes.setdefault(quote.pledge, []).append(quote.text)
        diffs: dict[str, str] = {}
        for n, record in enumerate(data.records):
            pledge = record.values.get("pledge")
            if record.table != "quotes" or pledge not in known or n in present:
                continue
            old = "\n".join(old_quotes.get(pledge, []))
            diffs[pledge] = _diff(old, record.values["text"], pledge)
            replaces.add(f"pledges:{pledge}")
            present.discard(index[pledge])
        for key in replaces:
            table, _, pledge = key.partition(":")
            if table == "pledges" and pledge not in diffs and pledge in known:
                title = data.records[index[pledge]].values.get("title_ko", "")
                diffs[pledge] = _diff(known[pledge].title_ko or known[pledge].title, title, pledge)
        return diffs


def _diff(old: str, new: str, name: str) -> str:
    """A unified diff of one pledge's old and new words."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"{name} (before)", f"{name} (now)", lineterm=""
    )
    return "\n".join(lines)


def _source(source: str, sg_id: str, type_code: str, where: str) -> ds.Record:
    """The Commission's registry of one election and type: what every pledge of it cites."""
    day = election_day(sg_id)
    kind = TYPES[type_code]
    return ds.Record(
        "sources",
        {
            "id": source,
            "kind": "official record",
            "outlet": "National Election Commission",
            "outlet_ko": "중앙선거관리위원회",
            "headline": f"Pledges registered for the {kind.english} of {day.isoformat()}",
            "headline_ko": f"{day.year}년 {day.month}월 {day.day}일 {kind.korean} 선거공약",
            "published_at": day,
            "url": SERVICE_URL,
            "language": "ko",
            "note": f"Candidates' pledges as registered with the Commission (선거공약 정보, {SERVICE}).",
        },
        where,
    )


def _pledges(
    item: dict[str, str], speaker: str, source: str, sg_id: str, candidate: str, where: str
) -> list[ds.Record]:
    """A candidate's numbered pledges (1…10) as pledges with their quotes; a number with neither a title
    nor a text is left out (the portal leaves unused numbers empty or out)."""
    records: list[ds.Record] = []
    day = election_day(sg_id)
    count = (item.get("prmsCnt") or "").strip()
    if count and not count.isdigit():
        raise NecError(f"{where}: field 'prmsCnt': '{count}' is not a number")
    seen: set[int] = set()
    for n in range(1, MAX_PLEDGES + 1):
        title = (item.get(f"prmsTitle{n}") or "").strip()
        text = (item.get(f"prmmCont{n}") or "").strip()
        if not title and not text:
            continue
        if not title:
            raise NecError(f"{where}: field 'prmsTitle{n}': is missing while 'prmmCont{n}' is given")
        order_text = (item.get(f"prmsOrd{n}") or str(n)).strip()
        if not order_text.isdigit() or not 1 <= int(order_text) <= 99:
            raise NecError(f"{where}: field 'prmsOrd{n}': '{order_text}' is not an order from 1 to 99")
        order = int(order_text)
        if order in seen:
            raise NecError(f"{where}: field 'prmsOrd{n}': order {order} is given twice")
        seen.add(order)
        realm = (item.get(f"prmsRealmName{n}") or "").strip() or "기타"
        category, category_ko = REALMS.get(realm, (realm, realm))
        pledge = f"nec-{sg_id}-{candidate.lower()}-{order}"
        records.append(
            ds.Record(
                "pledges",
                {
                    "id": pledge,
                    "speaker": speaker,
                    "title_ko": title,
                    "title_ko_by": "source",
                    "category": category,
                    "category_ko": category_ko,
                    "pledged_on": day,
                },
                f"{where}: field 'prmsTitle{n}'",
            )
        )
        if text:
            records.append(
                ds.Record(
                    "quotes",
                    {"pledge": pledge, "text": text, "source": source, "said_on": day, "language": "ko"},
                    f"{where}: field 'prmmCont{n}'",
                )
            )
    return records
