"""Side by side across a comparison: a run of the before result beside the same scenario, lane
and trial in the after result, compared as ``pairs`` compares two runs of one result.

Only the runs in both results that changed (outcome, exit, a check, the tool calls or a file)
get a pair: at most one per run, so a page stays linear in its runs. A result that is one of
the page's own has its runs' details there already; another (``report`` comparing the one
result it shows with the previous one) gets the details of its paired runs only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from pydantic import BaseModel

from runner._evaluate.results import RunResult
from runner._report.pairs import RunSide, changed, file_diffs, pair_view
from runner._report.received import SkillView
from runner._report.views import (
    Element,
    ResultDetails,
    Row,
    RunDetail,
    StoredResult,
    detail_id,
    row,
)


class AcrossPair(BaseModel):
    """A run that changed between the two results: before's as A, after's as B; each row
    names its run's detail element, ``pair`` the element of the two compared."""

    run_id: str  # as the comparison's rows name it
    a: Row
    b: Row
    pair: str


class AcrossExtras(BaseModel):
    """A comparison's pairs, and the SKILL.md texts each side's runs name."""

    pairs: list[AcrossPair]
    skills_a: dict[str, SkillView]
    skills_b: dict[str, SkillView]


def across_id(comparison: int) -> str:
    return f"across-{comparison}"


def across_pair_id(comparison: int, a: int, b: int) -> str:
    return f"across-{comparison}-{a}-{b}"


def across_detail_id(comparison: int, side: str, run: int) -> str:
    return f"across-{comparison}-{side}-run-{run}"


class Placed:
    """One side of a comparison: its runs' details already in the page, or made here."""

    def __init__(self, built: ResultDetails, ids: Callable[[int], str], *, in_page: bool) -> None:
        self.built = built
        self.ids = ids
        self.in_page = in_page

    @classmethod
    def of(
        cls, stored: StoredResult, page: Sequence[ResultDetails], comparison: int, side: str
    ) -> Placed:
        """``stored`` as one of the page's results (``page``, their details made), else new."""
        index = next((i for i, b in enumerate(page) if b.stored is stored), None)
        if index is None:
            made = ResultDetails(stored)
            return cls(made, lambda j: across_detail_id(comparison, side, j), in_page=False)
        return cls(page[index], lambda j: detail_id(index, j), in_page=True)

    def side(self, j: int) -> tuple[RunSide, RunDetail | None]:
        """Run ``j`` as a pair needs it, and its detail when the page does not hold it yet."""
        if self.in_page:
            return self.built.sides[j], None
        detail = self.built.detail(j)
        return self.built.sides[j], detail


def _key(r: RunResult) -> tuple[str, str, int]:
    return (r.scenario, r.lane, r.trial)


def across_elements(
    comparison: int, before: Placed, after: Placed
) -> Iterator[tuple[str, Element]]:
    """The page's elements for one comparison, as (id, model): for each run in both results
    that changed, the details the page lacks and the pair; then the index of the pairs."""
    old = {_key(r): i for i, r in enumerate(before.built.runs)}
    pairs = []
    for j, r in enumerate(after.built.runs):  # in the comparison's order: after's
        i = old.get(_key(r))
        if i is None:
            continue
        # Decided before any transcript is read: most runs of a comparison are unchanged.
        files = file_diffs(before.built.files(i), after.built.files(j))
        if not changed(before.built.runs[i], r, files[0]):
            continue
        (a, detail_a), (b, detail_b) = before.side(i), after.side(j)
        pair = pair_view(a, b, i, j, files)  # the diffs just made, not made again
        for placed, k, detail in ((before, i, detail_a), (after, j, detail_b)):
            if detail is not None:
                yield placed.ids(k), detail
        pair_id = across_pair_id(comparison, i, j)
        yield pair_id, pair
        pairs.append(
            AcrossPair(
                run_id=r.run_id,
                a=row(a.run, before.ids(i)),
                b=row(r, after.ids(j)),
                pair=pair_id,
            )
        )
    yield (
        across_id(comparison),
        AcrossExtras(
            pairs=pairs, skills_a=before.built.suite.skills, skills_b=after.built.suite.skills
        ),
    )
