"""Printed branch reports: what each branch's staff need at 9 a.m., as paged text, CSV or HTML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ils.reports import lists


@dataclass(frozen=True)
class Report:
    name: str
    title: str  # as printed, in Japanese
    columns: tuple[tuple[str, str], ...]  # (key, printed header)
    rows: Callable
    system_wide: bool = False  # the night summary also exists for the whole system


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report("pull", "資料確保リスト", (("shelf_mark", "請求記号"), ("barcode", "資料番号"), ("title", "書名"),
                                    ("pickup", "受取館"), ("hold", "予約番号")), lists.pull_list),
        Report("transit", "回送リスト", (("to", "回送先"), ("barcode", "資料番号"), ("title", "書名"), ("hold", "予約番号"),
                                    ("slip", "回送票")), lists.transit_list),
        Report("holdshelf", "取置資料一覧", (("pickup_deadline", "取置期限"), ("card", "利用者番号"), ("name", "氏名"),
                                       ("title", "書名"), ("barcode", "資料番号"), ("hold", "予約番号")), lists.hold_shelf),
        Report("expired", "取置期限切れ資料(本日)", (("barcode", "資料番号"), ("title", "書名"), ("expired_hold", "予約番号"),
                                              ("next", "次の扱い")), lists.expired_today),
        Report("phone", "電話連絡リスト", (("card", "利用者番号"), ("name", "氏名"), ("phone", "電話番号"), ("title", "書名"),
                                      ("ready_on", "用意日"), ("pickup_deadline", "取置期限")), lists.phone_list),
        Report("problems", "連絡不能リスト", (("card", "利用者番号"), ("name", "氏名"), ("email", "メールアドレス"),
                                      ("notice", "お知らせ"), ("problem", "理由")), lists.contact_problems),
        Report("summary", "夜間処理の結果", (("what", "項目"), ("count", "件数")), lists.night_summary, system_wide=True),
    )
}
