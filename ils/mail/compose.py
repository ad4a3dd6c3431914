"""Turning notices into mail: the templates, the Japanese dates, and a correct MIME message."""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
from email.charset import BASE64, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from functools import lru_cache

import jinja2

from ils.infra.resources import templates_path
from ils.library.clock import LIBRARY_TZ

WEEKDAYS_JA = "月火水木金土日"
# CRLF line ends (RFC 5321 2.3.8) and headers folded at 78. compat32 because it keeps a
# Header's own charset (ISO-2022-JP subjects for old phones), where the newer policies
# re-encode every header as UTF-8; no ">From " mangling, which is for mbox files only.
WIRE = email.policy.compat32.clone(linesep="\r\n", mangle_from_=False)
MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1, without the CRLF


def jdate(day: dt.date | str | None) -> str:
    """2026年12月3日(木)"""
    if day is None:
        return ""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{day.year}年{day.month}月{day.day}日({WEEKDAYS_JA[day.weekday()]})"


def edate(day: dt.date | str | None) -> str:
    """Thu 3 December 2026"""
    if day is None:
        return ""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{day:%a} {day.day} {day:%B %Y}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
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


def render_block(template_name: str, block: str, variables: dict) -> str:
    template = environment().get_template(template_name)
    context = template.new_context(variables)
    return "".join(template.blocks[block](context))


def notice_item(kind: str, language: str, variables: dict) -> tuple[str, str]:
    """(subject, paragraph) of one notice, from templates_mail/<language>/notices/<kind>.txt.j2."""
    name = f"{language}/notices/{kind}.txt.j2"
    return render_block(name, "subject", variables).strip(), render_block(name, "item", variables)


def mail_body(language: str, variables: dict) -> str:
    return environment().get_template(f"{language}/mail.txt.j2").render(variables)


def digest_subject(language: str, variables: dict) -> str:
    return render_block(f"{language}/subjects.txt.j2", "digest", variables).strip()


def subject_line(language: str, library: dict, subject: str) -> str:
    """The Subject header: `subject` with the library's name, as subjects.txt.j2 block `line` writes it."""
    return render_block(f"{language}/subjects.txt.j2", "line", {"library": library, "subject": subject})


def message_id(dedupe_key: str, sender: str) -> str:
    """A Message-ID derived from the message's key: the same mail always has the same id."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{digest}.ils@{domain}>"


def _header_safe(text: str) -> str:
    """No CR or LF can reach a header: a title or name cannot inject one."""
    return " ".join(str(text).replace("\r", " ").replace("\n", " ").split())


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
    text = re.sub(r"\r\n?", "\n", body)
    subject, sender_name, to_name = (_header_safe(s) for s in (subject, sender_name, to_name))
    charset = _charset_for(charset, text, subject, sender_name, to_name)
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


def _charset_for(wanted: str, *texts: str) -> str:
    """The profile's charset, or UTF-8 when it cannot carry every character of the message."""
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
