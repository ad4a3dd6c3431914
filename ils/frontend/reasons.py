"""Stable reason codes for rejected requests: English for the log, Japanese for the patron."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    ja: str


_REASONS = [
    # The request itself
    Reason("malformed", "the request is missing a field or has one the batch cannot read",
           "お申し込みの内容を読み取れませんでした"),
    Reason("unknown_kind", "unknown request kind", "お申し込みの種類が不明です"),
    Reason("bad_received_at",
           "the time the request was received is missing, unreadable, in the future, or earlier than allowed",
           "お申し込みの受付日時が正しく記録されていませんでした。お手数ですが、もう一度お申し込みいただくか、図書館へお問い合わせください"),
    Reason("requests_closed", "the web service takes no requests at this hour (the library's closed window)",
           "この時間帯はお申し込みを受け付けておりません。時間をおいてお申し込みください"),
    Reason("duplicate", "the same submission was received before", "同じお申し込みを既に受け付けています"),
    # The patron
    Reason("unknown_card", "no patron has this card number", "利用者番号が登録されていません"),
    Reason("patron_blocked", "the card is suspended or expired", "利用者カードが利用停止または有効期限切れです"),
    Reason("not_eligible", "the patron may not use the web service", "インターネットサービスのご利用対象外です"),
    Reason("overdue", "the patron has an overdue loan", "返却期限を過ぎた資料があるため予約できません"),
    Reason("limit_reached", "the patron has reached the hold limit", "予約できる点数の上限に達しています"),
    # The title
    Reason("unknown_title", "no title has this id", "資料が見つかりません"),
    Reason("not_owned", "the library owns no loanable copy", "図書館で所蔵していない資料です"),
    Reason("not_catalogued", "the title is not yet catalogued", "所蔵の登録が完了していない資料です"),
    Reason("not_holdable", "the title cannot be held (reference only)", "予約できない資料です(館内閲覧のみ)"),
    Reason("counter_only", "this kind of material is held at the counter only",
           "この資料はインターネットでは予約できません。図書館のカウンターでお申し込みください"),
    Reason("on_shelf", "a copy is on the shelf; web holds are for checked-out titles only",
           "書架にある資料はインターネットでは予約できません"),
    Reason("only_copy_long_overdue", "the only copy is long overdue", "複本がなく、長期に延滞されている資料です"),
    Reason("already_on_loan", "the patron has this title on loan", "現在借りている資料です"),
    Reason("already_held", "the patron already holds this title", "既に予約している資料です"),
    # Where and how
    Reason("unknown_pickup", "no branch has this code", "受取館が正しくありません"),
    Reason("pickup_not_offered", "this branch does not take holds for pickup", "この受取館は選択できません"),
    Reason("contact_not_offered", "the library does not offer this contact method", "この連絡方法は選択できません"),
    Reason("contact_unavailable", "the patron has no address or number registered for this contact method",
           "連絡先(メールアドレスまたは電話番号)が登録されていません"),
    Reason("series_invalid", "series group and position do not fit together", "シリーズ予約の指定が正しくありません"),
    # Cancellations
    Reason("unknown_hold", "no such hold for this patron", "取り消す予約が見つかりません"),
    Reason("cancel_too_late", "the hold is past the statuses a patron may cancel from the web; the patron must contact the library",
           "この状態の予約はご自身では取り消せません。図書館へご連絡ください"),
    # Pickup changes (受取館の変更, seed 001)
    Reason("pickup_change_not_offered", "the library does not offer changing the pickup branch from the web",
           "受取館の変更はインターネットでは受け付けておりません。図書館へご連絡ください"),
    Reason("pickup_change_too_late", "the hold is past the statuses whose pickup branch a patron may change; the patron must contact the library",
           "この状態の予約はご自身では受取館を変更できません。図書館へご連絡ください"),
    Reason("already_closed", "the hold was already cancelled, expired or collected", "既に終了した予約です"),
    # Contact-method changes (連絡方法の変更, seed 002)
    Reason("contact_change_not_offered", "the library offers one contact method only", "連絡方法は変更できません"),
    # Newsletter (メールマガジン, seed 000)
    Reason("newsletter_not_offered", "the library sends no newsletter", "メールマガジンの配信は行っておりません"),
    # Renewals
    Reason("unknown_loan", "no loan of this copy to this patron", "延長する貸出が見つかりません"),
    Reason("renewed_already", "the loan has already been renewed as often as allowed", "既に延長済みです(延長は1回までです)"),
    Reason("item_overdue", "the loan is overdue", "返却期限日を過ぎているため延長できません"),
    Reason("patron_overdue", "the patron has an overdue loan", "延滞中の資料があるため延長できません"),
    Reason("held_by_others", "another patron has a hold on this title", "他の方の予約が入っているため延長できません"),
    Reason("inter_library", "inter-library loans cannot be renewed", "相互貸借資料は延長できません"),
    Reason("not_extended", "renewing now would not move the due date", "延長しても返却期限日が変わりません"),
    Reason("renew_pending", "a renewal of this loan is already waiting for the night's batch",
           "延長申込を受け付けています(夜間に処理します)"),
    # Email changes
    Reason("email_invalid", "the address is not a valid email address", "メールアドレスの形式が正しくありません"),
    Reason("email_undeliverable", "mail cannot be sent to this address (consecutive dots or a dot before @)",
           "このメールアドレスにはメールを送信できません(「.」の連続や「@」直前の「.」)"),
    Reason("email_domain_blocked", "free-mail addresses are not accepted", "フリーメールのアドレスは登録できません"),
]

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


def reason(code: str) -> Reason:
    return REASONS[code]
