"""Reading an import file: UTF-8 or Shift_JIS/CP932, header row, physical line numbers."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ils.infra.i18n import _

ENCODINGS = ("auto", "utf-8", "cp932")
SNIFF_BYTES = 1 << 20
MAX_FIELD = 1 << 20


class UnreadableFile(ValueError):
    """The file cannot be decoded or parsed at all."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


@dataclass
class CsvSource:
    path: Path
    encoding: str
    columns: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the start of the file decodes as such, else CP932."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def open_csv(path: Path, encoding: str = "auto", keyed: bool = True) -> CsvSource:
    """The file's header and a lazy iterator of (line number, row) pairs: a row is a dict by
    column name, or with `keyed=False` the list of its cells in the header's order."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}")
    if encoding == "auto":
        encoding = detect_encoding(path)
    elif encoding == "utf-8":
        encoding = "utf-8-sig"
    csv.field_size_limit(MAX_FIELD)
    fh = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    reader = csv.reader(fh, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise UnreadableFile(1, _("the file is empty; a header row is required")) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        fh.close()
        raise UnreadableFile(1, _explain(exc, encoding)) from None
    columns = [name.strip() for name in header]
    return CsvSource(path, encoding, columns, _rows(fh, reader, columns, encoding, keyed))


def _rows(fh, reader, columns, encoding, keyed):
    with fh:
        line = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                raise UnreadableFile(reader.line_num or line + 1, _explain(exc, encoding)) from None
            line = reader.line_num
            if not values or (not values[0].strip() and not any(v.strip() for v in values)):
                continue  # blank line
            if len(values) != len(columns):
                yield line, {"__width__": _("{fields} fields, the header has {columns}").format(
                    fields=len(values), columns=len(columns))}
                continue
            yield line, dict(zip(columns, values, strict=True)) if keyed else values


def _explain(exc: Exception, encoding: str) -> str:
    if isinstance(exc, UnicodeDecodeError):
        hint = "cp932" if encoding.startswith("utf") else "utf-8"
        return _("not valid {encoding} text ({reason}); try --encoding {hint}").format(
            encoding=encoding, reason=exc.reason, hint=hint)
    return _("not valid CSV: {exc}").format(exc=exc)
