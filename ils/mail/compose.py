"""Turning notices into mail: the templates, the Japanese dates, and a correct MIME message."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from functools import lru_cache

import jinja2

from ils.clock import LIBRARY_TZ
from ils.resources import templates_path

WEEKDAYS_JA = "月火水木金土日"


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
    """An RFC 5322 message: encoded Subject and names, Message-ID, Date in JST.

    UTF-8 bodies go base64; ISO-2022-JP (the profile option for old Japanese phones)
    goes 7bit as those phones expect.
    """
    text = body.replace("\r\n", "\n")
    message = MIMEText(text, "plain", charset)
    message["Subject"] = Header(_header_safe(subject), charset)
    message["From"] = formataddr((_header_safe(sender_name), _header_safe(sender)), charset=charset)
    message["To"] = formataddr((_header_safe(to_name), _header_safe(to_addr)), charset=charset)
    message["Date"] = format_datetime(date.astimezone(LIBRARY_TZ))
    message["Message-ID"] = _header_safe(message_id)
    return message.as_string()
