"""Fetching the Election Commission's services from the public data portal (`pledgebot import --format nec
--fetch`): every page of an election and type's winners (or candidates), then each one's pledges.

Bounded: each request is tried at most `attempts` times, and only network failures and 5xx answers are
tried again; the portal's own error codes (03 no data aside, which is an empty answer) stop the fetch with
the code named. The service key travels in the query string and is never part of an error or a log line.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable

from bot.config import Secret
from bot.nec import Facts, NecError, Response, Winner, candidate_of, parse_response, sg_id_of

WINNERS = "WinnerInfoInqireService2/getWinnerInfoInqire"
CANDIDATES = "PofelcddInfoInqireService/getPofelcddRegistSttusInfoInqire"
PLEDGES = "ElecPrmsInfoInqireService/getCnddtElecPrmsInfoInqire"
ROWS = 100
# More pages than any election has (226 local heads at 100 a page is 3): a bound, should totalCount lie.
MAX_PAGES = 100


class Portal:
    """The portal's services at `base` (ending in "/"), asked with one service key."""

    def __init__(
        self,
        base: str,
        key: Secret,
        *,
        attempts: int = 3,
        timeout: float = 30.0,
        pause: Callable[[float], None] = time.sleep,
    ):
        self.base = base if base.endswith("/") else base + "/"
        self.key = key
        self.attempts = attempts
        self.timeout = timeout
        self.pause = pause

    def fetch(
        self, sg_id: str, types: Iterable[str], *, all_candidates: bool = False
    ) -> tuple[list[Response], Facts]:
        """Every winner (or candidate) of election `sg_id` in each type, and each one's pledges."""
        sg_id_of({"sgId": sg_id}, "--election")
        facts = Facts()
        responses: list[Response] = []
        for type_code in types:
            people = self.pages(WINNERS, {"sgId": sg_id, "sgTypecode": type_code})
            for index, item in enumerate(people, 1):
                key = (sg_id, candidate_of(item.get("huboid"), f"{WINNERS} item {index}", "huboid"))
                facts.winners.setdefault(key, Winner(*key))
            if all_candidates:
                people = self.pages(CANDIDATES, {"sgId": sg_id, "sgTypecode": type_code})
            for index, item in enumerate(people, 1):
                candidate = candidate_of(item.get("huboid"), f"{WINNERS} item {index}", "huboid")
                params = {"sgId": sg_id, "sgTypecode": type_code, "cnddtId": candidate}
                responses.append(
                    Response(f"{PLEDGES} cnddtId={candidate}", "pledges", self.pages(PLEDGES, params))
                )
        return responses, facts

    def pages(self, service: str, params: dict[str, str]) -> list[dict[str, str]]:
        """Every item of a service's answer, page after page until `totalCount` is reached."""
        items: list[dict[str, str]] = []
        for page in range(1, MAX_PAGES + 1):
            response = parse_response(self._get(service, {**params, "pageNo": str(page)}), service)
            items += response.items
            if not response.items or len(items) >= response.total:
                return items
        raise NecError(f"{service}: more than {MAX_PAGES} pages; stopped")

    def _get(self, service: str, params: dict[str, str]) -> str:
        """One page's text, tried again after a network failure or a 5xx, at most `attempts` times."""
        query = urllib.parse.urlencode({**params, "numOfRows": str(ROWS), "resultType": "json"})
        url = f"{self.base}{service}?serviceKey={urllib.parse.quote(self.key.value, safe='')}&{query}"
        shown = f"{service} ({', '.join(f'{k}={v}' for k, v in params.items())})"
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.pause(float(2 ** (attempt - 1)))
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as answer:
                    return str(answer.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                last = f"HTTP {error.code}"
                if error.code < 500:
                    break
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                last = type(getattr(error, "reason", error)).__name__
        raise NecError(f"{shown}: the portal did not answer ({last}) after {attempt + 1} attempt(s)")
