"""The crawler: signed in as each role, follow every internal link and every GET form from home,
breadth first, up to a bound. Every link must answer 2xx/3xx, and every "Next" link must show other
rows than the page it was found on. Django's test client, not a browser, so it stays fast."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from tests.world import build_world

pytestmark = pytest.mark.django_db

PAGES_PER_ROLE = 300
VARIANTS_PER_PATH = 4  # query-string variants of one path (filters, sorts, pages) worth following
SKIP_PREFIXES = ("/accounts/logout", "/admin/", "/static/", "/hooks/")


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class PageParser(HTMLParser):
    """Links (href, text) and GET forms with the values a person would submit unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.forms: list[Form] = []
        self._a: list | None = None
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._option_first: str | None = None
        self._textarea: str | None = None
        self.main_hrefs: set[str] = set()
        self._in_main = 0
        self._in_pagination = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self._in_main += 1
        if tag == "nav" and "pagination" in (a.get("class") or ""):
            self._in_pagination += 1
        if tag == "a" and a.get("href") is not None:
            self._a = [a["href"], ""]
            if self._in_main and not self._in_pagination:
                self.main_hrefs.add(a["href"])
        elif tag == "form":
            method = (a.get("method") or "get").lower()
            self._form = Form(action=a.get("action") or "") if method == "get" else None
        elif self._form is not None and tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.fields.append(
                (a["name"], a.get("value") or ("on" if kind == "checkbox" else ""))
            )
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select, self._select_value, self._option_first = a["name"], None, None
        elif self._select is not None and tag == "option":
            value = a.get("value") or ""
            if self._option_first is None:
                self._option_first = value
            if "selected" in a:
                self._select_value = value
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = a["name"]

    def handle_data(self, data):
        if self._a is not None:
            self._a[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._a is not None:
            self.links.append((self._a[0], " ".join(self._a[1].split())))
            self._a = None
        elif tag == "select" and self._select is not None and self._form is not None:
            value = self._select_value if self._select_value is not None else self._option_first
            self._form.fields.append((self._select, value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, ""))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "main":
            self._in_main -= 1
        elif tag == "nav" and self._in_pagination:
            self._in_pagination -= 1


def _internal(base: str, href: str) -> str | None:
    if not href or href.startswith(("#", "mailto:", "javascript:", "data:")):
        return None
    url = urljoin(base, href)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "") or parts.netloc not in ("", "testserver"):
        return None
    path = parts.path or "/"
    if path.startswith(SKIP_PREFIXES):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _parse(body: str) -> PageParser:
    parser = PageParser()
    parser.feed(body)
    return parser


def crawl(client, *, bound: int = PAGES_PER_ROLE):
    """Breadth first from "/". Returns (visited, failures, next_checks)."""
    queue = deque([("/", "(start)")])
    seen = {"/"}
    per_path: Counter = Counter()
    failures: list[str] = []
    next_checks: list[tuple[str, str, bool]] = []
    visited = 0
    while queue and visited < bound:
        url, found_on = queue.popleft()
        response = client.get(url)
        visited += 1
        if response.status_code >= 400:
            failures.append(f"{url} → {response.status_code} (linked from {found_on})")
            continue
        if response.status_code in (301, 302, 303, 307, 308):
            target = _internal(url, response["Location"])
            if target and target not in seen:
                seen.add(target)
                queue.append((target, f"redirect from {url}"))
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = _parse(response.content.decode())
        found = [(href, text) for href, text in page.links]
        for form in page.forms:
            query = urlencode(form.fields)
            found.append(((form.action or url.split("?")[0]) + (f"?{query}" if query else ""), ""))
        for href, text in found:
            target = _internal(url, href)
            if target is None:
                continue
            if text.startswith("Next"):
                next_checks.append((url, target, False))
            if target in seen:
                continue
            path = target.split("?")[0]
            if "?" in target and per_path[path] >= VARIANTS_PER_PATH:
                continue
            per_path[path] += 1
            seen.add(target)
            queue.append((target, url))
    return visited, failures, next_checks


def _rows(client, url: str) -> set[str]:
    return _parse(client.get(url).content.decode()).main_hrefs


@pytest.fixture
def world(db):
    return build_world()


@pytest.mark.parametrize("role", ["employee", "responder", "manager", "admin"])
def test_every_link_a_role_can_reach_from_home_answers(client, world, role):
    client.force_login(getattr(world, role))
    visited, failures, next_checks = crawl(client)
    assert not failures, "\n".join(failures)
    assert visited >= 60, f"only {visited} pages reached: is navigation broken?"
    # "Next →" must show other rows (the ?? bug kept every list on page 1).
    assert next_checks, "no list offered a Next link: the world is too small to test paging"
    for page_url, next_url, _ in {(p, n, False) for p, n, _ in next_checks}:
        here, there = _rows(client, page_url), _rows(client, next_url)
        assert here != there, f"Next on {page_url} ({next_url}) shows the same rows"


def test_the_crawler_reports_a_broken_link_with_the_page_it_was_found_on(client, world):
    """The crawler itself: a link to a missing page fails and names where it was."""
    client.force_login(world.employee)
    parser = _parse('<main><a href="/incidents/999999/">gone</a></main>')
    assert parser.links == [("/incidents/999999/", "gone")]
    response = client.get("/incidents/999999/")
    assert response.status_code == 404


def test_a_get_form_is_followed_with_its_current_values():
    page = _parse(
        '<form method="get" action="/actions/"><input name="q" value="db">'
        '<select name="team"><option value="">Any team</option><option value="x" selected>X</option>'
        '</select><input type="checkbox" name="overdue"><button type="submit">Filter</button></form>'
        '<form method="post" action="/actions/reassign/"><input name="owner" value="1"></form>'
    )
    assert [(f.action, f.fields) for f in page.forms] == [
        ("/actions/", [("q", "db"), ("team", "x")])
    ]
