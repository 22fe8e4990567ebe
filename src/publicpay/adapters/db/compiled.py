"""A SQLAlchemy Core statement as the driver runs it, compiled once per dialect.

`compiled(stmt, dialect)` renders the statement in the driver's own positional parameters and
keeps what running it needs: the parameter order, the column types' bind and result processors,
the values the statement carries itself, the row class of its result, the tables it touches.
IN lists are rendered element by element, once per list length. Statements are meant to be built
once (module level, with `bindparam`); the cache is keyed by the statement object.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.sql import ClauseElement, visitors
from sqlalchemy.sql.elements import BindParameter, ColumnClause

Processor = Callable[[Any], Any] | None
CACHE_LIMIT = 8192  # statements are built once; more than this means one is built per call


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement as the driver runs it."""

    sql: str
    names: tuple[str, ...]  # bind names in parameter order
    processors: tuple[Processor, ...]
    defaults: Mapping[str, Any]  # values the statement carries itself (e.g. `version + 1`)
    required: frozenset[str]
    row: Any  # named tuple class of the result columns (None: no rows)
    results: tuple[Processor, ...] | None  # None when no column needs converting
    tables: frozenset[str]  # every table the statement touches
    pick: Callable[[Mapping[str, Any]], Sequence[Any]]  # the values of `names`, in order
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # the positions with a processor
    expanding: tuple[str, ...] = ()  # IN-list parameters, rendered for their lengths

    def args(self, params: Mapping[str, Any] | None) -> list[Any]:
        given = self._expand(params) if self.expanding and params else params
        if not self.defaults:
            values_: Mapping[str, Any] = given or {}
        else:
            values_ = {**self.defaults, **given} if given else self.defaults
        try:
            args = list(self.pick(values_))
        except KeyError:
            missing = self.required.difference(values_)
            if not missing:
                raise
            raise KeyError(f"missing statement parameters: {sorted(missing)}") from None
        for position, proc in self.processed:
            args[position] = proc(args[position])
        return args

    def _expand(self, params: Mapping[str, Any]) -> dict[str, Any]:
        flat = {k: v for k, v in params.items() if k not in self.expanding}
        for name in self.expanding:
            flat.update({f"{name}_{i}": v for i, v in enumerate(params[name], start=1)})
        return flat

    def make_row(self, raw: Sequence[Any]) -> Any:
        if self.results is None:
            return self.row._make(raw)
        return self.row._make(
            [v if p is None or v is None else p(v) for p, v in zip(self.results, raw, strict=True)]
        )


_CACHE: dict[tuple[str, int, tuple[int, ...]], tuple[ClauseElement, Compiled]] = {}


def compiled(stmt: ClauseElement, dialect: SaDialect, lengths: tuple[int, ...] = ()) -> Compiled:
    """`stmt` compiled for `dialect`, once (`lengths`: the sizes of its IN lists)."""
    key = (dialect.name, id(stmt), lengths)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is stmt:
        return hit[1]
    result = _compile(stmt, dialect, lengths)
    if len(_CACHE) >= CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = (stmt, result)  # the statement is kept: its id is never reused while cached
    return result


def _compile(stmt: ClauseElement, dialect: SaDialect, lengths: tuple[int, ...]) -> Compiled:
    expanding = expanding_names(stmt)
    given = {b.key for b in _binds_of(stmt) if b.required}  # the caller's parameters
    target, render = stmt, False
    if any(b.expanding for b in _binds_of(stmt)):
        # IN lists (parameters, and lists written in the statement) rendered element by
        # element; rendering needs a value for every parameter, so placeholders stand in
        sizes = dict(zip(expanding, lengths, strict=True))
        target = _with_values(stmt, {k: [None] * sizes[k] if k in sizes else None for k in given})
        render = True
    c: Any = target.compile(dialect=dialect, compile_kwargs={"render_postcompile": render})
    names = tuple(c.positiontup or ())
    binds, defaults, required = [], {}, set()
    for name in names:
        bind, index = _bind_of(c.binds, name)
        binds.append(bind)
        if bind.key in given:
            required.add(name)
        else:
            defaults[name] = bind.value if index is None else bind.value[index]
    columns: list[Any] = list(getattr(stmt, "exported_columns", None) or ())
    results = tuple(
        col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns
    )
    processors = tuple(b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds)
    return Compiled(
        sql=c.string,
        names=names,
        processors=processors,
        defaults=defaults,
        required=frozenset(required),
        row=namedtuple("Row", [str(col.key) for col in columns], rename=True) if columns else None,
        results=results if any(results) else None,
        tables=_tables_read(stmt),
        expanding=expanding,
        pick=picker(names),
        processed=tuple((i, p) for i, p in enumerate(processors) if p is not None),
    )


def picker(keys: Sequence[Any]) -> Callable[[Any], Sequence[Any]]:
    """`itemgetter(*keys)` that always answers a sequence (also for one key, or none)."""
    if len(keys) > 1:
        return itemgetter(*keys)
    if len(keys) == 1:
        key = keys[0]
        return lambda values: (values[key],)
    return lambda values: ()


def _tables_read(stmt: ClauseElement) -> frozenset[str]:
    """Every table a statement names, in its FROM clauses or through its columns."""
    found: set[str] = set()
    for element in visitors.iterate(stmt):
        if isinstance(element, Table):
            found.add(element.name)
        table = getattr(element, "table", None)
        if isinstance(element, ColumnClause) and isinstance(table, Table):
            found.add(table.name)
    return frozenset(found)


def _bind_of(binds: Mapping[str, Any], name: str) -> tuple[Any, int | None]:
    """The bind parameter behind a rendered name, and the element's index for an IN list's
    element (`ids_3` → the `ids` list, index 2)."""
    if name in binds:
        return binds[name], None
    base, _, number = name.rpartition("_")
    return binds[base], int(number) - 1


def _with_values(stmt: ClauseElement, values: Mapping[str, Any]) -> ClauseElement:
    """`stmt` with these values bound (for rendering; `.params()` refuses DML statements)."""

    def replace(element: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in values:
            value = values[element.key]
            return element._with_value(value, maintain_key=True, required=False)  # type: ignore[no-untyped-call]
        return None

    replaced: Any = visitors.replacement_traverse(stmt, {}, replace)  # type: ignore[call-overload]
    assert isinstance(replaced, ClauseElement)
    return replaced


def _binds_of(stmt: ClauseElement) -> list[BindParameter[Any]]:
    return [e for e in visitors.iterate(stmt) if isinstance(e, BindParameter)]


@lru_cache(maxsize=1024)
def expanding_names(stmt: ClauseElement) -> tuple[str, ...]:
    """The IN-list parameters the caller gives (`bindparam("ids", expanding=True)`)."""
    found: list[str] = []
    for bind in _binds_of(stmt):
        if bind.expanding and bind.required and bind.key not in found:
            found.append(bind.key)
    return tuple(found)


def lengths_of(stmt: ClauseElement, params: Mapping[str, Any] | None) -> tuple[int, ...]:
    """The lengths of the IN lists given for `stmt` (its compiled form depends on them)."""
    names = expanding_names(stmt)
    return tuple(len(params[n]) for n in names) if names and params else ()
