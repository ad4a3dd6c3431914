"""Mail as a strict SMTP server sees it: a stock aiosmtpd takes every message, byte for byte RFC 5321/5322, in both charsets."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import email.policy
import email.utils

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ils import cli
from ils.infra import schema
from ils.mail import compose
from ils.mail.deliver import Outgoing, SmtpTransport
from ils.mail.settings import MailSettings
from mailserver import MailServer
from scenario import D

# A title as long as the catalogue gives them (series, subtitle, edition...).
LONG = "オホーツク海沿岸の町と村に伝わる暮らしと祭りの記録、流氷とともに生きた人びとの百年 第{n}巻 増補改訂版"
LONGEST = "北見の自然と歴史" * 62  # 496 characters: a catalogue's 500-character title, over 998 octets in ISO-2022-JP
CHARSETS = {"utf-8": "", "iso-2022-jp": '[policy.notices]\ncharset = "iso-2022-jp"\n'}


def mail_run(lib, config, now):
    result = CliRunner().invoke(cli.main, ["mail", "run", "--db", lib.url, "--config", config, "--now", now])
    assert result.exit_code == 0, result.output
    return result


def assert_rfc_5322(raw: bytes) -> None:
    """Every line ends in CRLF, none is over 998 octets; headers fold at 78 and encoded body lines at 76."""
    assert raw.isascii() and raw.endswith(b"\r\n")
    lines = raw[:-2].split(b"\r\n")
    assert not [line for line in lines if b"\r" in line or b"\n" in line], "a bare CR or LF"
    assert max(len(line) for line in lines) <= 998
    end = lines.index(b"")
    assert max(len(line) for line in lines[:end]) <= 78
    if email.message_from_bytes(raw)["Content-Transfer-Encoding"] == "base64":
        assert max(len(line) for line in lines[end + 1:]) <= 76


def outbox(lib) -> dict[str, dict]:
    o = schema.mail_outbox
    rows = lib.conn.execute(select(o.c.message_id, o.c.subject, o.c.body, o.c.raw, o.c.state)).all()
    lib.conn.rollback()
    return {row.message_id: row._asdict() for row in rows}


def assert_delivered_as_rendered(server, lib, charset: str) -> list[email.message.EmailMessage]:
    """What the server took is exactly the outbox's raw message, and decodes to what the templates rendered."""
    rendered = outbox(lib)
    ids = server.recorder.message_ids()
    assert ids and len(set(ids)) == len(ids) == len(rendered)
    for raw, message in zip(server.recorder.raw, server.recorder.received, strict=True):
        assert_rfc_5322(raw)
        assert len(message.get_all("Message-ID")) == 1
        row = rendered[message["Message-ID"]]
        assert row["state"] == "sent" and row["raw"].encode("ascii") == raw
        assert message.get_content_charset() == charset
        assert message["Subject"] == row["subject"]
        assert message.get_content().replace("\r\n", "\n") == row["body"]
    return server.recorder.received


def new_arrivals(lib, classes=10, per_class=20):
    """Kitami: a patron who chose every NDC class, and `classes` x `per_class` titles catalogued last week."""
    lib.branch("central").patron("1001", email="taro@example.jp")
    t = schema.titles
    with lib.conn.begin():
        lib.conn.execute(schema.newsletter_subscriptions.insert(),
                         [{"patron_id": lib.ids[("patron", "1001")], "ndc_class": str(c)} for c in range(10)])
    for c in range(classes):
        for n in range(per_class):
            lib.title(f"N{c}{n:02}", catalogued_on=D(2026, 11, 20))
    with lib.conn.begin():
        for c in range(classes):
            for n in range(per_class):
                title = LONGEST if (c, n) == (9, 0) else LONG.format(n=n + 1)
                lib.conn.execute(t.update().where(t.c.bib_id == f"N{c}{n:02}")
                                 .values(title=title, author="北見 花子 編著", ndc=f"{c}10"))


@pytest.mark.parametrize("charset", CHARSETS)
def test_a_newsletter_of_200_long_titles_reaches_a_strict_server_intact(charset, new_library, tmp_path):
    lib = new_library("kitami")
    new_arrivals(lib)
    with MailServer() as server:
        mail_run(lib, server.config(tmp_path / "ils.toml", CHARSETS[charset]), "2026-11-24T10:00")
        [newsletter] = assert_delivered_as_rendered(server, lib, charset)
    body = newsletter.get_content()
    assert body.count("・") == 200 and LONGEST in body
    assert newsletter["Subject"] == "【北見市立図書館】新着図書案内(2026年11月24日(火))"


def ready_items(lib, count=40):
    """Mito: `count` holds of one patron readied in one night, each a copy freed by an expired hold."""
    lib.branch("chuo").patron("3001", email="hanako@example.jp")
    t = schema.titles
    for n in range(count):
        bib = f"B{n:02}"
        lib.title(bib)
        copy = lib.copy(bib, "chuo", state="on_hold_shelf")
        lib.patron(f"9{n:03}")
        lib.hold(f"9{n:03}", bib, "chuo", status="ready", copy=copy, contact="none",
                 ready_on=D(2026, 11, 14), deadline=D(2026, 11, 25))
        lib.hold("3001", bib, "chuo", queued_at="2026-11-02 10:00")
        with lib.conn.begin():
            lib.conn.execute(t.update().where(t.c.bib_id == bib).values(title=LONG.format(n=n + 1)))
    lib.night("2026-11-26 03:00")


@pytest.mark.parametrize("charset", CHARSETS)
def test_a_digest_of_40_ready_holds_reaches_a_strict_server_intact(charset, new_library, tmp_path):
    lib = new_library("mito")
    ready_items(lib)
    with MailServer() as server:
        mail_run(lib, server.config(tmp_path / "ils.toml", CHARSETS[charset]), "2026-11-27T09:00")
        [digest] = assert_delivered_as_rendered(server, lib, charset)
    assert digest["Subject"] == "【水戸市立図書館】予約・貸出のお知らせ"
    assert digest.get_content().count("ご用意ができました") == 40
    if charset == "iso-2022-jp":
        assert digest["Content-Transfer-Encoding"] == "7bit"  # every line fits: what old phones expect


# The message itself, whatever the templates render --------------------------------------------

EDGES = {
    "a long subject": {"subject": "【北見市立図書館】" + LONG.format(n=1) * 3},
    "a 100-character name": {"to_name": "北見 太郎" * 20},
    "an ASCII name with specials": {"to_name": 'Kitami, "Taro" (Jr.)'},
    "a line of 2,000 characters": {"body": "本" * 2000 + "\n"},
    "a line of 2,000 ASCII characters": {"body": "a" * 2000 + "\n"},
    "lines a mailbox or SMTP could mistake": {"body": "From the library\n.\n..\n. \nend\n"},
    "CR LF and a lone CR": {"body": "one\r\ntwo\rthree\n"},
}


def build(charset, **given):
    fields = {
        "sender": "central@library-kitami.jp", "sender_name": "北見市立図書館", "to_addr": "taro@example.jp",
        "to_name": "北見 太郎", "subject": "【北見市立図書館】予約資料のご用意ができました", "body": "本文\n",
        "message_id": "<x.ils@library-kitami.jp>", "date": dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc),
        "charset": charset, **given,
    }
    return fields, compose.build_message(**fields).encode("ascii")


@pytest.mark.parametrize("charset", CHARSETS)
@pytest.mark.parametrize("edge", EDGES)
def test_every_message_is_rfc_5322_whatever_the_template_renders(charset, edge):
    fields, raw = build(charset, **EDGES[edge])
    assert_rfc_5322(raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_charset() == charset
    assert message["Subject"] == fields["subject"]
    assert message.get_content().replace("\r\n", "\n") == fields["body"].replace("\r\n", "\n").replace("\r", "\n")
    to = str(email.header.make_header(email.header.decode_header(email.message_from_bytes(raw)["To"])))
    assert email.utils.parseaddr(to) == (fields["to_name"], "taro@example.jp")


def test_iso_2022_jp_keeps_7bit_until_a_line_would_pass_998_octets():
    _, short = build("iso-2022-jp", body="本" * 490 + "\n")  # 980 octets and the escapes
    _, long = build("iso-2022-jp", body="本" * 500 + "\n")
    assert email.message_from_bytes(short)["Content-Transfer-Encoding"] == "7bit"
    assert email.message_from_bytes(long)["Content-Transfer-Encoding"] == "base64"


def test_a_character_iso_2022_jp_cannot_carry_sends_the_message_in_utf_8():
    fields, raw = build("iso-2022-jp", to_name="髙橋 一郎", body="①の本をご用意しました～\n")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == fields["body"]


def test_lines_smtp_could_take_for_the_end_arrive_intact():
    fields, raw = build("iso-2022-jp", body="予定表\n.\n..\n.終わり\n")  # 7bit: the dots go as they are
    with MailServer() as server:
        settings = MailSettings(transport="smtp", host="127.0.0.1", port=server.port, starttls=False)
        with SmtpTransport(settings) as smtp:
            smtp.send(Outgoing(1, fields["sender"], fields["to_addr"], raw.decode("ascii"), fields["message_id"]))
        [taken] = server.recorder.raw
    assert taken == raw


# The UTF-8 message written directly is the email package's, byte for byte ----------------------

# Names and subjects as patrons and catalogues give them, and the odd ones: ASCII with
# quotes and commas, accents (quoted-printable is shorter for those), emoji, controls,
# long enough to fold, spaces of every kind.
TEXT = st.text(
    st.one_of(
        st.sampled_from("北見太郎髙橋①～【】、。 ¥éàüñ,;\"'()<>\\@.:\t\r\n\u3000\u2028\x0b\x1c\x7f\x01"),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    ),
    max_size=90,
)
ADDRESS = st.one_of(
    st.from_regex(r"[a-z0-9._+-]{1,60}@[a-z0-9.-]{1,30}", fullmatch=True),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=80),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(to_name=TEXT, sender_name=TEXT, subject=TEXT, to_addr=ADDRESS, body=TEXT, message_id=ADDRESS,
       date=st.datetimes(timezones=st.just(dt.timezone.utc)))
def test_a_utf_8_message_is_what_the_email_package_writes(to_name, sender_name, subject, to_addr, body,
                                                          message_id, date):
    fields = {"sender": "central@library-kitami.jp", "sender_name": compose._header_safe(sender_name),
              "to_addr": to_addr, "to_name": compose._header_safe(to_name),
              "subject": compose._header_safe(subject), "text": body.replace("\r", "\n"),
              "message_id": message_id, "date": date}
    try:
        expected = compose._email_message(**fields, charset="utf-8")
    except UnicodeError as exc:  # an address that is not ASCII cannot go in a header either way
        with pytest.raises(type(exc)):
            compose._utf8_message(**fields)
        return
    assert compose._utf8_message(**fields) == expected


@pytest.mark.parametrize("name_chars", range(1, 40))
def test_a_name_folds_like_the_email_package_at_every_length(name_chars):
    """Around the 78-column fold: one encoded word with its address, or Header's own folding."""
    for address in ("t@example.jp", "a-much-longer-address.of.a.patron@mail.example.ne.jp"):
        for name in ("北" * name_chars, "é" * name_chars, "Jos" + "é" * name_chars):
            fields = {"sender": "central@library-kitami.jp", "sender_name": name, "to_addr": address,
                      "to_name": name, "subject": name * 3, "text": "本文\n", "message_id": "<x.ils@kitami.jp>",
                      "date": dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc)}
            assert compose._utf8_message(**fields) == compose._email_message(**fields, charset="utf-8")


def test_a_header_left_as_it_is_has_nothing_split_would_collapse():
    """_header_safe returns a printable text with single inner spaces unchanged: no printable
    character but the space is one str.split() splits on, in all of Unicode."""
    assert [hex(code) for code in range(0x110000)
            if chr(code).isprintable() and chr(code) != " " and len(f"a{chr(code)}a".split()) != 1] == []


@settings(max_examples=1000, deadline=None)
@given(text=TEXT)
def test_a_header_value_is_made_safe_as_by_splitting_and_joining(text):
    assert compose._header_safe(text) == " ".join(text.replace("\r", " ").replace("\n", " ").split())
