"""The National Election Commission's pledge data (중앙선거관리위원회 "선거공약 정보", service 15040587 on the
public data portal, `getCnddtElecPrmsInfoInqire`) as catalogue records: `pledgebot import --format nec`.

A saved response is the portal's usual envelope, in XML or JSON: `response` → `header` {`resultCode`,
`resultMsg`} → `body` {`items` → `item` (one object or a list), `numOfRows`, `pageNo`, `totalCount`}. Each
pledge item is one candidate (`sgId`, the election day as YYYYMMDD; `sgTypecode`; `cnddtId`; `sidoName`,
`sggName`, `wiwName`; `partyName`; `krName`; `prmsCnt`) with numbered fields per pledge n = 1…10
(`prmsOrd{n}`, `prmsRealmName{n}`, `prmsTitle{n}`, `prmmCont{n}`). Each pledge becomes a pledge whose Korean
title is `prmsTitle` and whose quote is `prmmCont`, verbatim, in Korean, citing the Commission's registry of
that election. Who won, and their terms, come from the winners service (당선인 정보, `huboid`) saved the same
way or from a small file the operator writes (`elections` and `officials`; see docs/data.md).

Parsing is tolerant of what the portal does (a missing numbered field, an empty `wiwName`, a single `item`
object, entities and CDATA) and strict about the rest: a malformed file is refused whole, naming the file,
the item and the field, before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import dataset as ds

SERVICE = "getCnddtElecPrmsInfoInqire"
SERVICE_URL = "https://www.data.go.kr/data/15040587/openapi.do"
MAX_PLEDGES = 10
# The portal's codes for success: "00" in the newer services, "INFO-00" in the older.
OK_CODES = frozenset({"00", "INFO-00"})
# The portal's error codes, as its guides name them.
PORTAL_ERRORS = {
    "01": "APPLICATION_ERROR",
    "02": "DB_ERROR",
    "03": "NODATA_ERROR",
    "04": "HTTP_ERROR",
    "05": "SERVICETIME_OUT",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "11": "NO_MANDATORY_REQUEST_PARAMETERS_ERROR",
    "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR",
    "21": "TEMPORARILY_DISABLE_THE_SERVICEKEY_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
    "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR",
    "33": "UNSIGNED_CALL_ERROR",
    "99": "UNKNOWN_ERROR",
}


@dataclass(frozen=True)
class ElectionType:
    """One kind of election the pledge service covers, and how its winner's office is named."""

    english: str
    korean: str


TYPES = {
    "1": ElectionType("presidential election", "대통령선거"),
    "3": ElectionType("election of metropolitan mayors and provincial governors", "시·도지사선거"),
    "4": ElectionType("election of heads of cities, counties and districts", "구·시·군의 장 선거"),
    "11": ElectionType("election of superintendents of education", "교육감선거"),
}
# The portal's fields (분야) as the catalogue's categories, (English, Korean); a field not listed here
# becomes a category of its own, named in Korean in both languages.
REALMS = {
    "교통": ("Transport", "교통"),
    "경제": ("Economy", "경제"),
    "일자리": ("Jobs", "일자리"),
    "복지": ("Welfare", "복지"),
    "교육": ("Education", "교육"),
    "환경": ("Environment", "환경"),
    "주거": ("Housing", "주거"),
    "주택": ("Housing", "주거"),
    "문화": ("Culture", "문화"),
    "관광": ("Tourism", "관광"),
    "안전": ("Safety", "안전"),
    "보건": ("Health", "보건"),
    "의료": ("Health", "보건"),
    "농업": ("Agriculture", "농업"),
    "행정": ("Administration", "행정"),
    "외교": ("Diplomacy", "외교"),
    "국방": ("Defense", "국방"),
    "통일": ("North Korea", "북한"),
    "기타": ("Other", "기타"),
}
_CANDIDATE = re.compile(r"^[0-9A-Za-z]{1,40}$")
_NAMES = ("sgId", "sgTypecode", "cnddtId", "huboid")


class NecError(ValueError):
    """A file the importer refuses; the message names the file, the item and the field."""


@dataclass
class Response:
    """One saved (or fetched) response: its file, what it lists ("pledges" or "winners") and its items."""

    name: str
    kind: str
    items: list[dict[str, str]]
    total: int = 0


@dataclass(frozen=True)
class Winner:
    """Who won one election: the candidate, and what the operator says of the office and term."""

    sg_id: str
    cnddt_id: str
    speaker: str = ""
    name: str = ""
    office: str = ""
    office_ko: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass
class Facts:
    """What the operator's file and the winners service say: each winner, and each election's term."""

    winners: dict[tuple[str, str], Winner] = field(default_factory=dict)
    terms: dict[str, tuple[dt.date, dt.date | None]] = field(default_factory=dict)


def portal_error(code: str, message: str, where: str) -> NecError:
    """The portal's error `code` as a clear error naming it (and what the portal's guide calls it)."""
    name = PORTAL_ERRORS.get(code, "")
    said = f" ({message})" if message and message != name else ""
    return NecError(f"{where}: the portal answered with error code {code} {name}{said}".replace("  ", " "))


def parse_response(text: str, name: str) -> Response:
    """A response of the pledge or the winners service, XML or JSON, as its items. NecError when it is
    malformed or is one of the portal's errors."""
    body = text.lstrip("\ufeff").lstrip()
    if body.startswith("<"):
        header, items, total = _xml(body, name)
    else:
        header, items, total = _json(body, name)
    code = (header.get("resultCode") or "").strip()
    if code.startswith("INFO-") and code != "INFO-00":
        code = code[len("INFO-") :]
    if code not in OK_CODES:
        if code == "03" or code == "INFO-03":
            return Response(name, "pledges", [], 0)  # NODATA: an election type with no one in it
        raise portal_error(code or "?", header.get("resultMsg", ""), name)
    kind = "winners" if items and "huboid" in items[0] and "cnddtId" not in items[0] else "pledges"
    return Response(name, kind, items, total)


def _xml(text: str, name: str) -> tuple[dict[str, str], list[dict[str, str]], int]:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise NecError(f"{name}: not valid XML ({error})") from None
    if root.tag == "OpenAPI_ServiceResponse":
        refusal = root.find("cmmMsgHeader")
        code = (refusal.findtext("returnReasonCode") if refusal is not None else "") or "?"
        message = (refusal.findtext("returnAuthMsg") if refusal is not None else "") or ""
        raise portal_error(code.strip(), message.strip(), name)
    if root.tag != "response":
        raise NecError(f"{name}: not a response of the portal (no <response> envelope)")
    head = root.find("header")
    header = {child.tag: (child.text or "").strip() for child in (list(head) if head is not None else [])}
    items = [{child.tag: (child.text or "") for child in item} for item in root.iterfind("body/items/item")]
    return header, items, _count(root.findtext("body/totalCount"), name)


def _json(text: str, name: str) -> tuple[dict[str, str], list[dict[str, str]], int]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise NecError(f"{name}: not valid JSON (line {error.lineno})") from None
    if isinstance(document, dict) and "OpenAPI_ServiceResponse" in document:
        refusal = document["OpenAPI_ServiceResponse"].get("cmmMsgHeader") or {}
        code, message = str(refusal.get("returnReasonCode", "?")), str(refusal.get("returnAuthMsg", ""))
        raise portal_error(code, message, name)
    response = document.get("response") if isinstance(document, dict) else None
    if not isinstance(response, dict):
        raise NecError(f'{name}: not a response of the portal (no "response" envelope)')
    header = {k: str(v) for k, v in (response.get("header") or {}).items()}
    body = response.get("body") or {}
    if not isinstance(body, dict):
        raise NecError(f"{name}: field 'body' must be an object")
    items = body.get("items") or {}
    found = items.get("item") if isinstance(items, dict) else items
    if isinstance(found, dict):
        found = [found]  # one item is an object, not a list of one
    if found in (None, ""):
        found = []
    if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
        raise NecError(f"{name}: field 'items.item' must be an object or a list of objects")
    cleaned = [{k: "" if v is None else str(v) for k, v in item.items()} for item in found]
    return header, cleaned, _count(body.get("totalCount"), name)


def _count(value: Any, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        return int(str(value).strip())
    except ValueError:
        raise NecError(f"{name}: field 'totalCount': '{value}' is not a number") from None


def read_files(paths: Iterable[Path]) -> tuple[list[Response], Facts]:
    """Saved responses and the operator's files: pledges, then who won and their terms."""
    responses, facts = [], Facts()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise NecError(f"{path}: cannot read the file ({error.__class__.__name__})") from None
        if path.suffix.lower() in (".yaml", ".yml") or _operator_json(text):
            _read_operator(path, text, facts)
            continue
        response = parse_response(text, str(path))
        if response.kind == "winners":
            for index, item in enumerate(response.items, 1):
                where = f"{path}: item {index}"
                key = (sg_id_of(item, where), candidate_of(item.get("huboid"), where, "huboid"))
                facts.winners.setdefault(key, Winner(*key))
        else:
            responses.append(response)
    return responses, facts


def _operator_json(text: str) -> bool:
    """Whether a JSON file is an operator's file (elections, officials) rather than a portal response."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(document, dict) and bool({"elections", "officials"} & set(document))


def _read_operator(path: Path, text: str, facts: Facts) -> None:
    """The operator's file: `elections` (sgId → the term it gives: start, end) and `officials` (each winner:
    sgId, cnddtId, and optionally id, name, office, office_ko, start, end)."""
    try:
        document = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError):
        raise NecError(f"{path}: not valid {path.suffix[1:].upper()}") from None
    if not isinstance(document, dict) or not {"elections", "officials"} & set(document):
        raise NecError(f"{path}: an operator's file is a mapping with 'elections' and/or 'officials'")
    elections = document.get("elections") or {}
    if not isinstance(elections, dict):
        raise NecError(f"{path}: field 'elections' must map each sgId to its term's start and end")
    for sg_id, term in elections.items():
        where = f"{path}: election {sg_id}"
        if not isinstance(term, dict):
            raise NecError(f"{where}: must be a mapping with start and end")
        start = _date(term.get("start"), where, "start")
        if start is None:
            raise NecError(f"{where}: field 'start': is required (the first day in office)")
        facts.terms[sg_id_of({"sgId": str(sg_id)}, where)] = (start, _date(term.get("end"), where, "end"))
    officials = document.get("officials") or []
    if not isinstance(officials, list):
        raise NecError(f"{path}: field 'officials' must be a list")
    for index, entry in enumerate(officials, 1):
        where = f"{path}: official {index}"
        if not isinstance(entry, dict):
            raise NecError(f"{where}: must be a mapping")
        entry = {k: "" if v is None else v for k, v in entry.items()}
        sg_id = sg_id_of({"sgId": str(entry.get("sgId", ""))}, where)
        candidate = candidate_of(str(entry.get("cnddtId") or entry.get("huboid") or ""), where, "cnddtId")
        speaker = str(entry.get("id", "")).strip()
        if speaker and not ds.is_id(speaker):
            raise NecError(
                f"{where}: field 'id': '{speaker}' is not a valid id (lowercase letters, digits, -)"
            )
        facts.winners[(sg_id, candidate)] = Winner(
            sg_id,
            candidate,
            speaker,
            str(entry.get("name", "")).strip(),
            str(entry.get("office", "")).strip(),
            str(entry.get("office_ko", "")).strip(),
            _date(entry.get("start"), where, "start"),
            _date(entry.get("end"), where, "end"),
        )


def _date(value: Any, where: str, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return ds.parse_date(value)
    except ValueError as error:
        raise NecError(f"{where}: field '{name}': {error}") from None


def sg_id_of(item: dict[str, str], where: str) -> str:
    """An item's election id (`sgId`, the election day as YYYYMMDD), checked."""
    value = (item.get("sgId") or "").strip()
    try:
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise NecError(f"{where}: field 'sgId': '{value}' is not an election day as YYYYMMDD") from None
    return value


def candidate_of(value: str | None, where: str, name: str) -> str:
    """A candidate's id (`cnddtId`, `huboid`), checked: it becomes part of record ids."""
    value = (value or "").strip()
    if not _CANDIDATE.match(value):
        raise NecError(f"{where}: field '{name}': '{value}' is not a candidate id (letters and digits)")
    return value


def election_day(sg_id: str) -> dt.date:
    """The election's day from its sgId (YYYYMMDD)."""
    return dt.datetime.strptime(sg_id, "%Y%m%d").date()
