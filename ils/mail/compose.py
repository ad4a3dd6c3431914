"""Turning notices into mail: the templates, the Japanese dates, and a correct MIME message."""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
from binascii import b2a_base64
from collections.abc import MutableMapping
from email.charset import BASE64, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Any

import jinja2

from ils.infra.resources import templates_path
from ils.library.clock import LIBRARY_TZ, japanese_date

# CRLF line ends (RFC 5321 2.3.8) and headers folded at 78. compat32 because it keeps a
# Header's own charset (ISO-2022-JP subjects for old phones), where the newer policies
# re-encode every header as UTF-8; no ">From " mangling, which is for mbox files only.
FOLD_AT = 78  # RFC 5322 2.1.1's "SHOULD", compat32's default
CRLF = "\r\n"
WIRE = email.policy.compat32.clone(linesep=CRLF, mangle_from_=False, max_line_length=FOLD_AT)
MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1, without the CRLF
UTF8 = Charset("utf-8")
BASE64_LINE = 76  # RFC 2045 6.8
# A header value Header would leave as it is, if it fits on the line: printable ASCII
# words with single spaces between them.
PLAIN_HEADER = re.compile(r"[!-~]+(?: [!-~]+)*")
# Everything getattr finds on a plain dict: its methods and object's, never its keys.
DICT_ATTRIBUTES = frozenset(dir(dict))


def jdate(day: dt.date | str | None) -> str:
    """2026年12月3日(木)"""
    if day is None:
        return ""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return japanese_date(day)


def edate(day: dt.date | str | None) -> str:
    """Thu 3 December 2026"""
    if day is None:
        return ""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{day:%a} {day.day} {day:%B %Y}"


class Environment(jinja2.Environment):
    """jinja2's Environment, its templates' globals in a plain dict instead of a ChainMap over
    the environment's: jinja copies them into every context it makes (a notice's blocks, the
    mail around it, each include), and walking the ChainMap twice a context was a fifth of a
    night's mail. The globals are set when the environment is made and never change after."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """jinja's `obj.attribute` (the attribute, else the item), a plain dict's key found without
        first failing to find an attribute of that name: the templates read dicts (`library.name`,
        `patron.name`, `item.text`), and the exception jinja raises and catches for each was half
        the time of the mail around a notice. Same answer: a dict has no attribute but those of
        its type, which still come first."""
        if type(obj) is dict and attribute not in DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = Environment(
        loader=jinja2.FileSystemLoader(str(templates_path())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text mail
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters["jdate"] = jdate
    env.filters["edate"] = edate
    return env


def language_of(language: str | None) -> str:
    return "en" if language == "en" else "ja"


class Templates:
    """The mail templates, each looked up once, and the subject lines written so far."""

    def __init__(self, env: jinja2.Environment | None = None) -> None:
        self.env = env or environment()
        self._loaded: dict[str, jinja2.Template] = {}
        self._subject_lines: dict[tuple[str, str], str] = {}

    @classmethod
    def for_run(cls) -> Templates:
        """For a run that renders thousands of messages: jinja would otherwise check a
        template's file at every lookup and every include (a template edited meanwhile is
        read by the next run)."""
        return cls(environment().overlay(auto_reload=False))

    def template(self, name: str) -> jinja2.Template:
        template = self._loaded.get(name)
        if template is None:
            template = self._loaded[name] = self.env.get_template(name)
        return template

    def block(self, template_name: str, block: str, variables: dict) -> str:
        template = self.template(template_name)
        return "".join(template.blocks[block](template.new_context(variables)))

    def notice_item(self, kind: str, language: str, variables: dict) -> tuple[str, str]:
        """(subject, paragraph) of one notice, from templates_mail/<language>/notices/<kind>.txt.j2."""
        template = self.template(f"{language}/notices/{kind}.txt.j2")
        context = template.new_context(variables)  # both blocks read the same variables
        subject, item = ("".join(template.blocks[block](context)) for block in ("subject", "item"))
        return subject.strip(), item

    def mail_body(self, language: str, variables: dict) -> str:
        return self.template(f"{language}/mail.txt.j2").render(variables)

    def digest_subject(self, language: str, variables: dict) -> str:
        return self.block(f"{language}/subjects.txt.j2", "digest", variables).strip()

    def subject_line(self, language: str, library: dict, subject: str) -> str:
        """The Subject header: `subject` with the library's name, as subjects.txt.j2 block `line`
        writes it; the same subject is written once (the library does not change within a run)."""
        line = self._subject_lines.get((language, subject))
        if line is None:
            line = self.block(f"{language}/subjects.txt.j2", "line", {"library": library, "subject": subject})
            self._subject_lines[language, subject] = line
        return line


def render_block(template_name: str, block: str, variables: dict) -> str:
    return Templates().block(template_name, block, variables)


def notice_item(kind: str, language: str, variables: dict) -> tuple[str, str]:
    """(subject, paragraph) of one notice, from templates_mail/<language>/notices/<kind>.txt.j2."""
    return Templates().notice_item(kind, language, variables)


def mail_body(language: str, variables: dict) -> str:
    return Templates().mail_body(language, variables)


def digest_subject(language: str, variables: dict) -> str:
    return Templates().digest_subject(language, variables)


def subject_line(language: str, library: dict, subject: str) -> str:
    """The Subject header: `subject` with the library's name, as subjects.txt.j2 block `line` writes it."""
    return Templates().subject_line(language, library, subject)


def message_id(dedupe_key: str, sender: str) -> str:
    """A Message-ID derived from the message's key: the same mail always has the same id."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{digest}.ils@{domain}>"


def _header_safe(text: str) -> str:
    """No CR or LF can reach a header: a title or name cannot inject one."""
    text = str(text)
    # Most names and subjects are left as they are: no control or separator but single
    # spaces inside (what split() would split on is exactly those; a test checks every
    # character), a check far cheaper than splitting and joining five fields per message.
    if text.isprintable() and "  " not in text and not text.startswith(" ") and not text.endswith(" "):
        return text
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def build_message(
    *,
    sender: str,
    sender_name: str,
    to_addr: str,
    to_name: str,
    subject: str,
    body: str,
    message_id: str,
    date: dt.datetime,
    charset: str = "utf-8",
) -> str:
    """An RFC 5322 message exactly as it goes on the wire (CRLF line ends, no line over 998
    octets, headers folded at 78), whatever the templates rendered.

    UTF-8 bodies go base64 (lines of 76). ISO-2022-JP (the profile option for old Japanese
    phones) goes 7bit as those phones expect, or base64 if a line would pass 998 octets; a
    message with a character ISO-2022-JP cannot carry (髙, ①, ～) goes in UTF-8 instead.
    """
    text = re.sub(r"\r\n?", "\n", body) if "\r" in body else body
    subject, sender_name, to_name = _header_safe(subject), _header_safe(sender_name), _header_safe(to_name)
    charset = _charset_for(charset, text, subject, sender_name, to_name)
    if charset == "utf-8":
        return _utf8_message(sender=sender, sender_name=sender_name, to_addr=to_addr, to_name=to_name,
                             subject=subject, text=text, message_id=message_id, date=date)
    return _email_message(sender=sender, sender_name=sender_name, to_addr=to_addr, to_name=to_name,
                          subject=subject, text=text, message_id=message_id, date=date, charset=charset)


def _email_message(*, sender: str, sender_name: str, to_addr: str, to_name: str, subject: str, text: str,
                   message_id: str, date: dt.datetime, charset: str) -> str:
    """The message as Python's email package writes it: for any charset, and the reference
    the UTF-8 one below must match byte for byte (tests/test_mail_wire.py)."""
    # typeshed types these as str only; email takes a Charset for the body and a Header
    # for a header, which is what keeps each encoded and folded as above.
    message = MIMEText(text, "plain", _body_charset(charset, text))  # type: ignore[arg-type]
    subject_charset = "us-ascii" if subject.isascii() else charset
    message["Subject"] = Header(subject, subject_charset, header_name="Subject")  # type: ignore[assignment]
    message["From"] = _address("From", sender_name, sender, charset)  # type: ignore[assignment]
    message["To"] = _address("To", to_name, to_addr, charset)  # type: ignore[assignment]
    message["Date"] = format_datetime(date.astimezone(LIBRARY_TZ))
    message["Message-ID"] = _header_safe(message_id)
    return message.as_bytes(policy=WIRE).decode("ascii")


def _utf8_message(*, sender: str, sender_name: str, to_addr: str, to_name: str, subject: str, text: str,
                  message_id: str, date: dt.datetime) -> str:
    """The UTF-8 message written directly, the same bytes as _email_message: the email
    package folds every header anew for every message (most of a night's render), where
    the subject and the sender are the same for thousands of them."""
    headers = (
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("MIME-Version", "1.0"),
        ("Content-Transfer-Encoding", "base64"),
        ("Subject", _encoded_header("Subject", subject, "us-ascii" if subject.isascii() else "utf-8")),
        ("From", _sender_header(sender_name, sender)),
        ("To", _folded_address("To", to_name, to_addr, "utf-8")),
        ("Date", _date_header(date)),
        ("Message-ID", _folded("Message-ID", _header_safe(message_id))),
    )
    head = "".join([f"{name}: {value}{CRLF}" for name, value in headers])
    return head + CRLF + _base64_lines(text.encode("utf-8"))


def _base64_lines(data: bytes) -> str:
    """The body in base64, lines of 76 (57 octets each) ending in CRLF, as email.base64mime
    writes it, in one call to the C encoder instead of one per line (and the lines joined from a
    list: a generator's step for each of a night's 86,000 lines cost more than the slicing)."""
    encoded = b2a_base64(data, newline=False).decode("ascii")
    if not encoded:
        return ""
    return CRLF.join([encoded[start:start + BASE64_LINE] for start in range(0, len(encoded), BASE64_LINE)]) + CRLF


@lru_cache(maxsize=1024)
def _encoded_header(field: str, text: str, charset: str) -> str:
    """A header value in `charset`, folded as the email package folds it; a night's subjects are few."""
    return Header(text, charset, header_name=field).encode(linesep=CRLF, maxlinelen=FOLD_AT)


@lru_cache(maxsize=64)
def _date_header(date: dt.datetime) -> str:
    """Date: the send time, in Japan; a night's mail goes at a few."""
    return _folded("Date", format_datetime(date.astimezone(LIBRARY_TZ)))


@lru_cache(maxsize=16)
def _sender_header(name: str, address: str) -> str:
    """From: the library, the same in every message."""
    return _folded_address("From", name, address, "utf-8")


def _folded(field: str, value: str) -> str:
    """A plain header value as the email package folds it: unchanged when it fits on the line."""
    if len(field) + 2 + len(value) <= FOLD_AT and PLAIN_HEADER.fullmatch(value):
        return value
    return Header(value, header_name=field).encode(linesep=CRLF, maxlinelen=FOLD_AT)


def _folded_address(field: str, name: str, address: str, charset: str) -> str:
    """_address folded: a UTF-8 name that fits on the line with its address is one encoded word
    (what Header writes then); anything longer or odder is left to Header."""
    address = _header_safe(address)
    if name.isascii():
        return _folded(field, formataddr((name, address)))
    if charset == "utf-8" and address.isascii():
        line = f"{_utf8_word(name)} <{address}>"
        if len(field) + 2 + len(line) <= FOLD_AT:
            return line
    header = _address(field, name, address, charset)
    assert isinstance(header, Header), "a name that is not ASCII goes in a Header"
    return header.encode(linesep=CRLF, maxlinelen=FOLD_AT)


def _utf8_word(text: str) -> str:
    """UTF8.header_encode(text): one encoded word, base64 or quoted-printable, whichever is
    the shorter. A Japanese name is always base64: that is told from the octets' count
    here, where the email package writes it both ways to compare (a third of the To header)."""
    data = text.encode("utf-8")
    # Quoted-printable takes at least one character an octet, three for one that is not ASCII.
    not_ascii = len(data) - len(text.encode("ascii", "ignore"))
    if 4 * -(-len(data) // 3) < len(data) + 2 * not_ascii:
        return f"=?utf-8?b?{b2a_base64(data, newline=False).decode('ascii')}?="
    return UTF8.header_encode(text)


def _charset_for(wanted: str, *texts: str) -> str:
    """The profile's charset, or UTF-8 when it cannot carry every character of the message."""
    if wanted == "utf-8":
        return wanted  # whatever the texts (the answer were UTF-8 either way)
    try:
        for text in texts:
            text.encode(wanted)
    except UnicodeEncodeError:
        return "utf-8"
    return wanted


def _body_charset(name: str, text: str) -> Charset:
    charset = Charset(name)
    if charset.body_encoding is None:  # 7bit: each line goes as it is, so it must fit
        longest = max(len(line) for line in text.encode(charset.output_codec).split(b"\n"))
        if longest > MAX_LINE_OCTETS:
            charset.body_encoding = BASE64
    return charset


def _address(field: str, name: str, address: str, charset: str) -> Header | str:
    """`Name <address>`, the name encoded in the message's charset and folded like the subject."""
    address = _header_safe(address)
    if name.isascii():
        return formataddr((name, address))
    header = Header(name, charset, header_name=field)
    header.append(f"<{address}>", "us-ascii")
    return header
