"""Safe Markdown rendering for postmortem documents and one-line fields.

Two layers, so a bug in one is caught by the other:

1. markdown-it-py, CommonMark preset plus GFM tables and strikethrough, with
   ``html=False`` (raw HTML in the source is shown escaped, as text) and
   linkify off. Its own link validation already refuses ``javascript:``,
   ``vbscript:``, ``file:`` and most ``data:`` destinations.
2. nh3 (ammonia) with a small allow-list of tags and attributes, only the
   ``http``, ``https`` and ``mailto`` URL schemes (relative URLs are kept),
   and ``rel="noopener noreferrer nofollow"`` on every link.

Design choices callers must know:

* No ``<img>`` ever reaches the output (no tracking pixels, no mixed-content
  or referrer leaks). Markdown images ``![alt](url)`` render as a plain link
  to the image whose text is the alt text (or the URL when alt is empty);
  inside another link, or for a non-http(s) source such as ``data:``, only
  the alt text is kept.
* ``<ol start="n">`` keeps its (numeric) ``start`` so "3. x" lists number
  correctly.
* Table alignment is emitted as ``align="left|center|right"`` on ``th``/``td``
  instead of markdown-it's inline ``style`` attribute, so a strict CSP
  (no ``'unsafe-inline'`` styles) keeps working; ``style`` is never allowed.
* Fenced code keeps ``class="language-xxx"`` on ``<code>`` (for a future
  highlighter); every other ``class`` is dropped.
* Headings are not shifted: ``# x`` is ``<h1>``; templates style them.
* The return value is a plain ``str``; callers wrap it with ``mark_safe``.
"""

from __future__ import annotations

import re
from typing import Any, Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

__all__ = ["render_markdown", "render_markdown_inline"]

URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})
LINK_REL: Final = "noopener noreferrer nofollow"

BLOCK_TAGS: Final = frozenset(
    {
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
)
INLINE_TAGS: Final = frozenset({"br", "strong", "em", "del", "s", "code", "a", "span"})

_ALIGN_VALUES: Final = {"left", "center", "right"}
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_LANGUAGE_CLASS: Final = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")


def _attributes(tags: frozenset[str]) -> dict[str, set[str]]:
    attrs = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}
    allowed = {tag: set(names) for tag, names in attrs.items() if tag in tags}
    allowed["*"] = set()  # nh3 would otherwise keep "title" and "lang" everywhere
    return allowed


def _tag_attribute_values(tags: frozenset[str]) -> dict[str, dict[str, set[str]]]:
    values = {"th": {"align": _ALIGN_VALUES}, "td": {"align": _ALIGN_VALUES}}
    return {tag: {k: set(v) for k, v in av.items()} for tag, av in values.items() if tag in tags}


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        return value if tag == "code" and _LANGUAGE_CLASS.fullmatch(value) else None
    if attr == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    return value


def _clean(html: str, tags: frozenset[str]) -> str:
    return nh3.clean(
        html,
        tags=set(tags),
        attributes=_attributes(tags),
        tag_attribute_values=_tag_attribute_values(tags),
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


# ---------------------------------------------------------------------------
# markdown-it setup
# ---------------------------------------------------------------------------


def _table_align_rule(state: Any) -> None:
    """Rewrite ``style="text-align:x"`` on table cells to ``align="x"``."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrGet("style")
            if style:
                del token.attrs["style"]
                m = re.fullmatch(r"text-align:(left|center|right)", str(style))
                if m:
                    token.attrSet("align", m.group(1))


def _render_image(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    """Render ``![alt](src "title")`` as a link to the image, never as ``<img>``."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    depth = 0
    for previous in tokens[:idx]:
        if previous.type == "link_open":
            depth += 1
        elif previous.type == "link_close":
            depth -= 1
    if depth > 0:  # already inside a link: nested <a> is invalid
        return escapeHtml(alt)
    src = str(token.attrGet("src") or "")
    scheme = _SCHEME.match(src)
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        return escapeHtml(alt)  # e.g. data:image/... -- keep only the words
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{title_attr}>{escapeHtml(alt or src)}</a>'


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("table_align_attr", _table_align_rule)
    md.add_render_rule("image", _render_image)
    return md


_MD: Final = _build_parser()


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def render_markdown(text: str) -> str:
    """Render Markdown to sanitised HTML (block level). Empty input gives ``""``."""
    if not text or not str(text).strip():
        return ""
    return _clean(_MD.render(str(text)), BLOCK_TAGS).strip()


def render_markdown_inline(text: str) -> str:
    """Render one-line Markdown (emphasis, code, links) without block elements.

    Only inline syntax is parsed, so "# x" or "- x" stay literal text and there
    is no wrapping ``<p>``. Hard line breaks become ``<br>``.
    """
    if not text or not str(text).strip():
        return ""
    return _clean(_MD.renderInline(str(text)), INLINE_TAGS).strip()
