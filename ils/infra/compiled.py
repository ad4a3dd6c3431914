"""The methods @dataclass writes for each class, compiled once and kept between processes: a command's start-up compiles none it compiled before.

@dataclass writes each class's __init__, __repr__, __eq__ (and, frozen, __hash__, __setattr__,
__delattr__) as Python text and compiles it as the class is made, every time a module defining
one is imported: an intraday run as a process makes some 60 such classes, and compiling their
330 methods was about a seventh of its instructions (callgrind), more than all its SQL. A
text compiles to the same code whoever compiles it, so the code of each text the process
compiled is kept in the user's cache folder (beside the validated policy, ils.library.policy),
keyed by the whole text, and the next process executes it instead of compiling it again. The
classes and their methods are the same; only the compiling is saved. A text not in the file
(a new Python, a changed class) is compiled as before and added to it.

Only `ils` as a command (ils.__main__) uses it; an importer of ils's modules (the tests, a web
server calling ils.frontend.api) compiles as Python does.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from types import CodeType

# A file that grows past this (one class's methods a text, each edit of a class a new one) is
# written back with only the texts the writing process used.
MAX_KEPT = 5000


def cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/ils, else ~/.cache/ils; None for a process with no home to keep it in."""
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ils"
    except RuntimeError:  # no $HOME and no entry in the password database
        return None


def cache_file(folder: Path) -> Path:
    """Named by the interpreter and its bytecode's version: marshal's code objects are not portable between them."""
    return folder / f"dataclass-code-{sys.implementation.cache_tag}-{importlib.util.MAGIC_NUMBER.hex()}.marshal"


class CompiledTexts:
    """Code compiled from source texts, those read from the file and those compiled since."""

    def __init__(self, known: dict[str, CodeType]):
        self.known = known
        self.used: dict[str, CodeType] = {}
        self.added = False

    def code(self, text: str) -> CodeType:
        found = self.known.get(text)
        if found is None:
            # As exec() compiles a text it is given from the dataclasses module: no __future__
            # flag of this module's (annotations would become strings) is passed on.
            found = compile(text, "<string>", "exec", dont_inherit=True)
            self.known[text] = found
            self.added = True
        self.used[text] = found
        return found

    def exec(self, source, globals=None, locals=None, /):  # noqa: A002 - builtins.exec's own names
        """builtins.exec for the dataclasses module, whose every call gives a text and its globals."""
        if isinstance(source, str) and globals is not None:
            source = self.code(source)
        elif globals is None:  # not what dataclasses does; done as exec would do it, in the caller's frame
            caller = sys._getframe(1)
            globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
        return builtins.exec(source, globals, locals)

    def contents(self) -> dict[str, CodeType]:
        return self.known if len(self.known) <= MAX_KEPT else self.used


def read(path: Path) -> dict[str, CodeType]:
    """The texts and their code in `path`; nothing if it is missing, unreadable or not this user's."""
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_uid != os.getuid():
                return {}  # its code would run: only a file this user wrote is read
            kept = marshal.loads(fh.read())  # load(fh) reads a file a few bytes at a time
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {text: code for text, code in kept.items() if isinstance(text, str) and isinstance(code, CodeType)}


def write(path: Path, texts: CompiledTexts) -> None:
    if not texts.added:
        return
    from ils.infra import files

    try:
        files.private_dir(path.parent)
        files.write_private(path, marshal.dumps(texts.contents()))
    except OSError:
        pass  # a read-only home: each process compiles, as Python does


def keep_between_processes() -> CompiledTexts | None:
    """From now on, the dataclasses this process makes execute the code kept from earlier
    processes, and what they compile anew is written back when the process ends. Call it
    before any module that defines a dataclass is imported."""
    folder = cache_dir()
    if folder is None or "exec" in vars(dataclasses):
        return None
    path = cache_file(folder)
    texts = CompiledTexts(read(path))
    dataclasses.exec = texts.exec  # type: ignore[attr-defined]  # a name of the module's own, before the builtin
    atexit.register(write, path, texts)
    return texts
