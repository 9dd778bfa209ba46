"""Tests for safe Markdown rendering (pure module, no database).

The XSS corpus lives in ``tests/fixtures/xss_vectors.txt``: one vector per
line, taken verbatim, except for these placeholders so that control characters
and multi-line vectors fit on one line::

    {TAB} -> "\\t"   {LF} -> "\\n"   {CR} -> "\\r"
    {NUL} -> "\\x00" {FF} -> "\\x0c" {VT} -> "\\x0b"

Every vector is rendered with both ``render_markdown`` and
``render_markdown_inline`` and the output is walked with ``html.parser``.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from postmortems.markdown import BLOCK_TAGS, _clean, render_markdown, render_markdown_inline

VECTORS_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "xss_vectors.txt"

PLACEHOLDERS = {
    "{TAB}": "\t",
    "{LF}": "\n",
    "{CR}": "\r",
    "{NUL}": "\x00",
    "{FF}": "\x0c",
    "{VT}": "\x0b",
}

FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "style",
    "form",
    "input",
    "button",
    "meta",
    "base",
    "link",
    "img",
    "image",
    "picture",
    "source",
    "video",
    "audio",
    "body",
    "html",
    "template",
    "textarea",
    "select",
    "details",
}
ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
}
INLINE_TAGS = {"br", "strong", "em", "del", "s", "code", "a", "span"}
ALLOWED_ATTRS = {
    "a": {"href", "title", "rel"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
    "ol": {"start"},
}
URL_ATTRS = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
    "cite",
    "srcset",
    "dynsrc",
    "lowsrc",
    "srcdoc",
}
SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_STRIP = re.compile(r"[\x00-\x20\x7f-\x9f\s\u200b-\u200f\u2028\u2029\ufeff]+")


def load_vectors() -> list[tuple[int, str]]:
    lines = VECTORS_FILE.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vectors = []
    for number, line in enumerate(lines, start=1):
        vector = line
        for placeholder, char in PLACEHOLDERS.items():
            vector = vector.replace(placeholder, char)
        vectors.append((number, vector))
    return vectors


VECTORS = load_vectors()


def url_scheme(value: str) -> str | None:
    """Scheme as a browser would see it; None for a relative URL.

    ``value`` is an attribute value as ``HTMLParser`` hands it over, i.e. with
    character references already decoded exactly once, as a browser does
    (decoding again would turn the harmless relative URL
    ``&amp;#x01;javascript:`` into a false alarm). Whitespace and control
    characters are stripped anywhere, and NFKC folds full-width look-alikes,
    both stricter than a browser.
    """
    value = unicodedata.normalize("NFKC", value)
    value = _STRIP.sub("", value)
    m = _SCHEME.match(value)
    return m.group(1).lower() if m else None


class OutputWalker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment:{data}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"decl:{decl}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"pi:{data}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"unknown:{data}")


def walk(output: str) -> OutputWalker:
    walker = OutputWalker()
    walker.feed(output)
    walker.close()
    return walker


def assert_safe(output: str, allowed_tags: set[str]) -> None:
    assert isinstance(output, str)
    walker = walk(output)
    assert walker.other == [], output
    for tag, attrs in walker.tags:
        assert tag not in FORBIDDEN_TAGS, output
        assert tag in allowed_tags, output
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), output
        for name, value in attrs:
            assert not name.startswith("on"), output
            assert name != "style", output
            assert name in ALLOWED_ATTRS.get(tag, set()), output
            if name in URL_ATTRS:
                scheme = url_scheme(value or "")
                assert scheme is None or scheme in SAFE_SCHEMES, (value, output)
            if name == "align":
                assert value in {"left", "center", "right"}, output
            if name == "class":
                assert re.fullmatch(r"language-[\w+#.-]+", value or ""), output
        if tag == "a":
            rel = dict(attrs).get("rel") or ""
            assert {"noopener", "noreferrer", "nofollow"} <= set(rel.split()), output


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------


def test_corpus_is_large_and_distinct() -> None:
    raw = [v for _, v in VECTORS]
    assert len(raw) >= 200
    assert len(set(raw)) == len(raw)
    assert all(v.strip() for v in raw)


@pytest.mark.parametrize(("number", "vector"), VECTORS, ids=[f"line{n}" for n, _ in VECTORS])
def test_xss_vector_block(number: int, vector: str) -> None:
    assert_safe(render_markdown(vector), ALLOWED_TAGS)


@pytest.mark.parametrize(("number", "vector"), VECTORS, ids=[f"line{n}" for n, _ in VECTORS])
def test_xss_vector_inline(number: int, vector: str) -> None:
    assert_safe(render_markdown_inline(vector), INLINE_TAGS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com", "https"),
        ("/relative/path", None),
        ("#anchor", None),
        ("java\tscript:alert(1)", "javascript"),
        (" \x0e javascript:alert(1)", "javascript"),
        ("\ufeffjavascript:alert(1)", "javascript"),
        ("\uff4a\uff41\uff56\uff41script\uff1aalert(1)", "javascript"),
        ("&#58;javascript:alert(1)", None),
        ("MAILTO:a@b.c", "mailto"),
    ],
)
def test_url_scheme_helper(value: str, expected: str | None) -> None:
    assert url_scheme(value) == expected


def test_checker_catches_unsafe_output() -> None:
    """The assertions themselves must fail on dangerous HTML."""
    for bad in [
        "<script>alert(1)</script>",
        '<img src="x">',
        '<a href="javascript:alert(1)" rel="noopener noreferrer nofollow">x</a>',
        '<a href="jav&#x09;ascript:alert(1)" rel="noopener noreferrer nofollow">x</a>',
        '<a href="javascript&#58;alert(1)" rel="noopener noreferrer nofollow">x</a>',
        '<a href="&#x6A;avascript&colon;alert(1)" rel="noopener noreferrer nofollow">x</a>',
        '<a href="data:text/html,x" rel="noopener noreferrer nofollow">x</a>',
        '<p onclick="x">x</p>',
        '<a href="https://x">no rel</a>',
        '<td style="color:red">x</td>',
    ]:
        with pytest.raises(AssertionError):
            assert_safe(bad, ALLOWED_TAGS)


# ---------------------------------------------------------------------------
# Functional behaviour
# ---------------------------------------------------------------------------


def tags_of(output: str) -> list[str]:
    return [tag for tag, _ in walk(output).tags]


def test_headings_render_unshifted() -> None:
    out = render_markdown("# One\n\n## Two\n\n###### Six")
    assert "<h1>One</h1>" in out
    assert "<h2>Two</h2>" in out
    assert "<h6>Six</h6>" in out


def test_lists_render() -> None:
    out = render_markdown("- a\n- b\n\n3. c\n4. d")
    assert tags_of(out) == ["ul", "li", "li", "ol", "li", "li"]
    assert '<ol start="3">' in out


def test_table_renders_with_align_not_style() -> None:
    out = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "<table>" in out
    assert '<th align="left">a</th>' in out
    assert '<th align="center">b</th>' in out
    assert '<td align="right">3</td>' in out
    assert "style" not in out


def test_code_blocks_render_escaped() -> None:
    out = render_markdown("```python\nif a < b and c > d:\n    pass\n```")
    assert '<pre><code class="language-python">' in out
    assert "if a &lt; b and c &gt; d:" in out
    indented = render_markdown("    <b>x</b>")
    assert indented == "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>"


def test_unsafe_code_class_is_dropped() -> None:
    out = render_markdown('```"><x\nx\n```')
    assert "class" not in out


def test_inline_code_and_emphasis() -> None:
    out = render_markdown("**bold** _em_ `code` ~~gone~~")
    assert out == "<p><strong>bold</strong> <em>em</em> <code>code</code> <s>gone</s></p>"


def test_https_link_gets_rel() -> None:
    out = render_markdown("[docs](https://example.com/runbook)")
    assert out == (
        '<p><a href="https://example.com/runbook" rel="noopener noreferrer nofollow">docs</a></p>'
    )


def test_link_title_kept() -> None:
    out = render_markdown('[docs](https://example.com "Runbook")')
    assert 'title="Runbook"' in out


@pytest.mark.parametrize(
    "link", ["mailto:oncall@example.com", "/incidents/42", "#timeline", "http://example.com"]
)
def test_safe_links_kept(link: str) -> None:
    out = render_markdown(f"[x]({link})")
    assert f'href="{link}"' in out


def test_autolink_works_linkify_off() -> None:
    assert 'href="https://example.com"' in render_markdown("<https://example.com>")
    assert "<a" not in render_markdown("see https://example.com")


def test_javascript_link_is_not_a_link() -> None:
    out = render_markdown("[x](javascript:alert(1))")
    assert "<a" not in out
    assert "javascript" in out  # shown as text


def test_raw_html_is_escaped_text() -> None:
    out = render_markdown("Hello <b>world</b> <script>alert(1)</script>")
    assert out == "<p>Hello &lt;b&gt;world&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert tags_of(out) == ["p"]


def test_images_become_links_never_img() -> None:
    out = render_markdown("![dashboard](https://example.com/d.png)")
    assert "<img" not in out
    assert out == (
        '<p><a href="https://example.com/d.png" rel="noopener noreferrer nofollow">dashboard</a></p>'
    )
    nested = render_markdown("[![badge](https://example.com/b.png)](https://example.com)")
    assert tags_of(nested) == ["p", "a"]
    assert ">badge</a>" in nested
    data = render_markdown("![pixel](data:image/png;base64,iVBORw0KGgo=)")
    assert data == "<p>pixel</p>"


@pytest.mark.parametrize("empty", ["", "   ", "\n\n", None])
def test_empty_input(empty: str | None) -> None:
    assert render_markdown(empty) == ""  # type: ignore[arg-type]
    assert render_markdown_inline(empty) == ""  # type: ignore[arg-type]


def test_returns_plain_str() -> None:
    assert type(render_markdown("x")) is str
    assert type(render_markdown_inline("x")) is str


def test_inline_has_no_block_elements() -> None:
    out = render_markdown_inline("# not a heading with **bold** and [a](https://example.com)")
    assert not out.startswith("<p>")
    assert out.startswith("# not a heading")
    assert set(tags_of(out)) == {"strong", "a"}
    assert tags_of(render_markdown_inline("- item\n> quote\n| a |\n|---|")) == []


def test_inline_raw_html_escaped() -> None:
    assert render_markdown_inline("<em>x</em>") == "&lt;em&gt;x&lt;/em&gt;"


@pytest.mark.parametrize(("number", "vector"), VECTORS, ids=[f"line{n}" for n, _ in VECTORS])
def test_xss_vector_sanitiser_alone(number: int, vector: str) -> None:
    """Defence in depth: even if markdown-it let raw HTML through (html=True by
    mistake, a plugin bug), the nh3 layer alone must make each vector safe."""
    assert_safe(_clean(vector, BLOCK_TAGS), ALLOWED_TAGS)
