"""SQL fragments the repositories share across both stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Integer, String


def among(postgres: bool, column: Any, values: Sequence[Any], name: str,
          item: type[String] | type[Integer] = String) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL one array parameter (`= ANY`): a batch's thousand ids
    as a thousand bind parameters cost more to render, send and plan than the query itself."""
    if postgres:
        return column == any_(bindparam(name, list(values), type_=ARRAY(item())))  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]
