"""Reads for the why chain: the tree of an incident (a fixed number of queries whatever its size),
its progress against the severity's required depth and effort targets, and the people the
blameless checker must recognise."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch
from django.http import Http404

from ..models import ActionItem, Incident, WhyNode
from ..models.soft_delete import SoftDeleteQuerySet
from .people import blameless_people  # noqa: F401  (the pages' hints use it from here)

SNIPPET = 70


def snippet(text: str, length: int = SNIPPET) -> str:
    text = " ".join((text or "").split()).rstrip(".")
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def required_depth(incident: Incident) -> int:
    return int(settings.WHY_DEPTH_REQUIRED.get(incident.severity, 5))


def effort_targets(incident: Incident) -> list[int]:
    return list(settings.WHY_EFFORT_TARGET_HOURS.get(incident.severity, []))


def impact_phrase(incident: Incident) -> str:
    """The impact statement (else the title), as quoted in the level-1 question."""
    text = (incident.impact or "").strip() or (incident.title or "").strip() or "this incident"
    return " ".join(text.split()).rstrip(" .!")


def root_question(incident: Incident) -> str:
    # Quoted: an impact is a sentence ("Logins failed for 35% of users"), not a noun phrase.
    return f"Why did “{impact_phrase(incident)}” happen?"


def child_question(answer: str) -> str:
    """The parent's answer becomes the next question, quoted like the level-1 question: an answer is
    a sentence or a noun phrase ("Our review guide treats config as trivial", "Too many
    connections"), and "Why did “…” happen?" reads right with either. The team can edit it."""
    text = " ".join((answer or "").split()).rstrip(" .!?")
    return f"Why did “{text}” happen?" if text else "Why?"


def qualifying_action(action: ActionItem) -> bool:
    """An action closes a node's gap when someone owns it by a date (and it was not dropped)."""
    return bool(action.owner_id and action.due_on and action.status != ActionItem.Status.WONT_DO)


@dataclass
class TreeNode:
    node: WhyNode
    children: list[TreeNode] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)

    @property
    def pk(self) -> int:
        return self.node.pk

    @property
    def level(self) -> int:
        return self.node.level

    @property
    def answered(self) -> bool:
        return bool(self.node.answer.strip())

    @property
    def has_action(self) -> bool:
        return any(qualifying_action(a) for a in self.actions)

    @property
    def covered(self) -> bool:
        """Ends with a corrective action (owner and due date) or an explicit accepted risk."""
        return self.has_action or bool(self.node.accepted_risk_reason.strip())

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def committed_hours(self) -> Decimal:
        return sum(
            (
                a.estimated_hours or Decimal(0)
                for a in self.actions
                if a.status != ActionItem.Status.WONT_DO
            ),
            Decimal(0),
        )


@dataclass
class WhyTree:
    incident: Incident
    roots: list[TreeNode]
    by_id: dict[int, TreeNode]

    @property
    def nodes(self) -> list[TreeNode]:
        out: list[TreeNode] = []

        def walk(items: list[TreeNode]) -> None:
            for item in items:
                out.append(item)
                walk(item.children)

        walk(self.roots)
        return out

    def path_to(self, pk: int) -> list[TreeNode]:
        """Ancestors of a node, root first, the node itself last."""
        chain: list[TreeNode] = []
        item = self.by_id.get(pk)
        while item is not None:
            chain.append(item)
            item = self.by_id.get(item.node.parent_id) if item.node.parent_id else None
        return list(reversed(chain))

    def branches(self) -> list[list[TreeNode]]:
        """Every root-to-leaf path (a leaf = a node without live children)."""
        paths: list[list[TreeNode]] = []

        def walk(item: TreeNode, path: list[TreeNode]) -> None:
            path = [*path, item]
            if item.is_leaf:
                paths.append(path)
            for child in item.children:
                walk(child, path)

        for root in self.roots:
            walk(root, [])
        return paths

    @property
    def max_level(self) -> int:
        return max((n.level for n in self.nodes if n.answered), default=0)


def load_tree(incident: Incident) -> WhyTree:
    """The live (not deleted) nodes of an incident as a tree: two queries whatever its size."""
    actions = Prefetch(
        "action_items",
        queryset=ActionItem.objects.alive().select_related("owner").order_by("id"),
    )
    nodes = list(
        WhyNode.objects.alive()
        .filter(incident=incident)
        .select_related("author", "updated_by")
        .prefetch_related(actions)
        .order_by("level", "id")
    )
    by_id: dict[int, TreeNode] = {}
    roots: list[TreeNode] = []
    for node in nodes:
        node.incident = incident
        item = TreeNode(node=node, actions=list(node.action_items.all()))  # prefetched: live ones
        by_id[node.pk] = item
    for node in nodes:
        item = by_id[node.pk]
        if node.parent_id is None:
            roots.append(item)
        elif node.parent_id in by_id:
            by_id[node.parent_id].children.append(item)
        # A node whose parent was deleted is deleted with it (see delete_why); never orphaned.
    return WhyTree(incident=incident, roots=roots, by_id=by_id)


@dataclass(frozen=True)
class LevelEffort:
    level: int
    committed: Decimal
    target: int | None
    actions: int

    @property
    def percent(self) -> int:
        if not self.target:
            return 100 if self.committed else 0
        return min(100, int(self.committed * 100 / self.target))

    @property
    def met(self) -> bool:
        return self.target is None or self.committed >= self.target


def effort_by_level(tree: WhyTree) -> list[LevelEffort]:
    """Engineer-hours committed per level against the severity's target."""
    targets = effort_targets(tree.incident)
    depth = max(required_depth(tree.incident), tree.max_level, len(targets) if tree.roots else 0)
    rows = []
    for level in range(1, depth + 1):
        items = [n for n in tree.nodes if n.level == level]
        committed = sum((n.committed_hours for n in items), Decimal(0))
        count = sum(1 for n in items for a in n.actions if a.status != ActionItem.Status.WONT_DO)
        target = targets[level - 1] if level - 1 < len(targets) else None
        rows.append(LevelEffort(level=level, committed=committed, target=target, actions=count))
    return rows


def effort_warnings(tree: WhyTree) -> list[str]:
    """Proportional investment: warn when only the symptom is fixed or deeper levels have nothing."""
    rows = effort_by_level(tree)
    with_actions = [r.level for r in rows if r.actions]
    if not with_actions:
        return []
    warnings = []
    if with_actions == [1]:
        warnings.append(
            "Every action sits on level 1: that fixes the symptom only. "
            "Commit to something on the deeper causes too."
        )
    reached = [r.level for r in rows if r.level > 1 and any(n.level == r.level for n in tree.nodes)]
    bare = [lvl for lvl in reached if lvl not in with_actions]
    if bare and with_actions != [1]:
        words = ", ".join(str(lvl) for lvl in bare)
        warnings.append(
            f"Level{'s' if len(bare) > 1 else ''} {words} {'have' if len(bare) > 1 else 'has'} "
            "no corrective action: the deeper causes are where recurrence is prevented."
        )
    return warnings


@dataclass(frozen=True)
class BranchProgress:
    leaf: TreeNode
    depth: int
    required: int
    stopped: bool

    @property
    def done(self) -> bool:
        return self.depth >= self.required or self.stopped


def branch_progress(tree: WhyTree) -> list[BranchProgress]:
    required = required_depth(tree.incident)
    out = []
    for path in tree.branches():
        answered = [n for n in path if n.answered]
        depth = answered[-1].level if answered else 0
        stopped = any(n.node.stop_reason.strip() for n in path)
        out.append(BranchProgress(leaf=path[-1], depth=depth, required=required, stopped=stopped))
    return out


def gaps_of(tree: WhyTree) -> list[str]:
    """What still stands between this tree and "done": one sentence per gap, for people."""
    incident = tree.incident
    required = required_depth(incident)
    sev = incident.severity.upper()
    gaps: list[str] = []
    if not tree.roots:
        if required:
            gaps.append(
                f"No why tree yet: a {sev} needs its causes traced {required} levels deep "
                "(run the five whys)."
            )
        return gaps
    for item in tree.nodes:
        if not item.answered:
            gaps.append(f'Level {item.level}: "{snippet(item.node.question)}" has no answer yet.')
    for branch in branch_progress(tree):
        leaf = branch.leaf
        if branch.done or not leaf.answered:
            continue
        short = required - leaf.level
        gaps.append(
            f'The branch ending at level {leaf.level} ("{snippet(leaf.node.answer)}") is '
            f"{short} level{'s' if short != 1 else ''} short of the {required} a {sev} needs: "
            "ask why again or give a stop reason."
        )
    for item in tree.nodes:
        if not item.answered or item.covered:
            continue
        what = (
            "its actions lack an owner or a due date"
            if item.actions
            else "it needs a corrective action with an owner and a due date"
        )
        gaps.append(
            f'Level {item.level} ("{snippet(item.node.answer)}"): {what}, or an accepted risk.'
        )
    return gaps


def whys_section(incident: Incident, user: User | AnonymousUser) -> dict[str, Any] | None:
    """Context of the incident page's section: a compact progress card."""
    tree = load_tree(incident)
    branches = branch_progress(tree)
    return {
        "incident": incident,
        "tree": tree,
        "required": required_depth(incident),
        "node_count": len(tree.nodes),
        "branch_count": len(branches),
        "deepest": tree.max_level,
        "uncovered": sum(1 for n in tree.nodes if n.answered and not n.covered),
        "gaps": gaps_of(tree),
        "effort": effort_by_level(tree),
        "chain": _main_chain(tree),
    }


def _main_chain(tree: WhyTree) -> list[TreeNode]:
    """The deepest branch, shown as the headline chain on the incident page."""
    paths = tree.branches()
    return max(paths, key=len) if paths else []


def visible_why_nodes(user: User | AnonymousUser) -> SoftDeleteQuerySet[WhyNode]:
    """Causes of the incidents `user` may see, deleted ones included (the admin lists those):
    the visibility rule itself (`Incident.objects.visible_to`) as a subquery."""
    return WhyNode.objects.filter(incident__in=Incident.objects.visible_to(user))


def get_why_node_for(
    user: User | AnonymousUser, node_id: int, *, incident: Incident | None = None
) -> WhyNode:
    """THE accessor: the live node if its incident is visible to `user` (and is `incident` when
    given, e.g. a page's own incident); else 404, the same as a missing one. One query."""
    nodes = visible_why_nodes(user).alive()
    if incident is not None:
        nodes = nodes.filter(incident=incident)
    node = nodes.select_related("incident", "author", "updated_by").filter(pk=node_id).first()
    if node is None:
        raise Http404("No such cause.")
    if incident is not None:
        node.incident = incident  # the caller's copy (already read, with its annotations)
    return node
