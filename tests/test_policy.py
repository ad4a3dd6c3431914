"""Each seed library's profile loads with the values its seed states; bad files are refused by key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ils.errors import PolicyError
from ils.library.policy import available_profiles, load_policy


def test_the_five_seed_libraries_have_profiles():
    assert available_profiles() == ["kitakyushu", "kitami", "kitsuki", "mito", "murakami"]


def test_kitami_seed_000():
    p = load_policy("kitami")
    assert p.holds.limit == 20  # 予約できる冊数は、20冊までです。(全受付分)
    assert p.holds.limit_counts == "all_channels"
    assert p.holds.overdue_blocks is True  # 返却期限日が過ぎているときは、予約できません
    assert set(p.holds.counter_only_material_types) == {"picture_book_large", "kamishibai_large", "comic", "av"}
    assert p.holds.counter_only_categories == ("current_issue",)  # 雑誌の最新号
    assert p.holds.contact_methods == ("email", "none")  # メールか連絡不要
    assert p.series.ordered is True  # 読みたい順の予約
    assert (p.pickup.days, p.pickup.start, p.pickup.start_without_contact) == (7, "notice", "ready")
    assert p.notices.mode == "per_item" and p.notices.send_times == ("10:00", "15:00")
    assert p.notices.open_days_only is True
    assert (p.renewal.max_renewals, p.renewal.due_offset_days) == (1, 13)  # 手続きの日から14日間
    assert p.renewal.blocked_if_item_overdue and p.renewal.blocked_if_held
    assert p.passwords.reset == "clear"  # パスワードを消去いたします
    assert (p.newsletter.enabled, p.newsletter.weekday, p.newsletter.time) == (True, "tue", "10:00")


def test_kitakyushu_seed_001():
    p = load_policy("kitakyushu")
    assert p.holds.limit is None
    assert p.holds.require_catalogued is True  # 所蔵の登録が完了した日から、予約受付
    assert p.holds.unholdable_categories == ("reference_only",)  # 貸出対象となっているものに限ります
    assert p.holds.cancelled_visible_days == 14  # 2週間は表示が残ります
    assert (p.series.ordered, p.series.gate) == (True, "allocated")  # 割り当てられないと…割り当てられません
    assert (p.pickup.days, p.pickup.count, p.pickup.start) == (7, "open_days", "notice")  # 休館日を除き1週間
    assert (p.renewal.max_renewals, p.renewal.due_offset_days) == (1, 14)  # 2週間
    assert (p.passwords.min_length, p.passwords.max_length) == (6, 20)
    assert p.passwords.self_service == "card_birth_phone"
    assert p.passwords.reset == "random"  # カウンターで仮パスワードを発行
    assert p.email.reject_consecutive_dots and p.email.reject_dot_before_at
    assert p.labels.waiting == "予約中です" and p.labels.ready == "ご用意できました"
    assert p.labels.in_transit == "取寄・準備中です"


def test_mito_seed_002():
    p = load_policy("mito")
    assert p.holds.limit == 15  # 合わせて15点まで
    assert p.holds.unholdable_categories == ("reference_only",)  # 禁帯
    assert set(p.holds.counter_only_categories) == {"contest", "current_issue"}  # 課題, 期禁
    assert p.holds.reject_title_on_loan_to_patron and p.holds.reject_title_already_held
    assert p.holds.reject_only_copy_long_overdue is True  # 複本がなく、長期に延滞
    assert p.holds.contact_methods == ("email", "none")
    assert p.series.ordered is False  # 借りる順番の指定はできません
    assert (p.notices.mode, p.notices.send_on) == ("digest", "next_open_day")  # 次の開館日に1日分まとめて
    assert p.renewal.due_offset_days == 14  # 手続きした日から15日目
    assert p.renewal.blocked_if_inter_library is True  # 相互貸借資料
    assert p.renewal.due_on_closed_day == "keep"  # 休館日が期限日になることがあります
    assert (p.passwords.charset, p.passwords.min_length, p.passwords.max_length) == ("digits", 1, 6)
    assert (p.passwords.initial, p.passwords.reset) == ("birth_mmdd", "initial")
    assert p.labels.pending == "仮予約"
    assert "every 10 minutes" in p.batch.schedule


def test_kitsuki_seed_003():
    p = load_policy("kitsuki")
    assert p.eligibility.web_min_school_grade == 7  # 中学生以上
    assert p.holds.overdue_blocks is True
    assert p.holds.onshelf_web_holds is False  # 貸出中の資料にのみかけられます
    assert set(p.holds.counter_only_material_types) == {"magazine", "av"}  # 雑誌・AVは対象外
    assert p.holds.contact_methods == ("email",)  # 「メール」しか選択できません
    assert p.series.ordered is False
    assert p.notices.accepted_mail is True  # 予約確定メール
    assert p.notices.receipt_mail_offered is True  # 予約内容メールの送信
    assert p.renewal.blocked_if_patron_overdue is True  # 延滞の資料がない場合
    assert p.passwords.initial == "random" and p.passwords.temporary_must_change is False
    assert "hotmail.com" in p.email.blocked_domains and "yahoo.co.jp" in p.email.blocked_domains


def test_murakami_seed_004():
    p = load_policy("murakami")
    assert p.holds.contact_methods == ("phone", "email", "none")  # 電話、メール、自主確認
    assert p.holds.pickup_at_stations is True  # BM/吉浦
    assert p.queue.order == "counter_same_day_first"  # 窓口での貸出・予約が優先
    assert (p.series.ordered, p.series.gate) == (True, "picked_up")  # 一冊ずつ用意確保
    assert (p.pickup.start, p.pickup.days) == ("notice", 7)  # 連絡をしてから1週間 (資料確保日 for 自主確認)
    assert p.pickup.start_without_contact == "ready"
    assert (p.passwords.initial, p.passwords.reset) == ("birth_yyyymmdd", "initial")
    assert (p.passwords.charset, p.passwords.min_length, p.passwords.max_length) == ("digits", 4, 4)
    assert p.passwords.temporary_must_change is True
    assert p.notices.email_registered_mail == "next_morning"  # 翌日の午前中に…「登録完了メール」
    assert (p.labels.series_waiting, p.labels.in_transit, p.labels.ready) == ("準備中", "他館確保", "貸出可能")


def test_every_profile_value_cites_its_seed():
    """Every section's values follow a comment citing the seed line (or saying the seed is silent)."""
    from ils.library.policy import profiles_dir

    for path in profiles_dir().glob("*.toml"):
        lines = path.read_text(encoding="utf-8").splitlines()
        last_comment = None
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            if stripped.startswith("#"):
                last_comment = stripped
            elif stripped.startswith("["):
                last_comment = None
            elif "=" in stripped:
                assert last_comment is not None, f"{path.name}:{number} has no seed comment above it"


def _write(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_installation_extends_a_profile_and_overrides_values(tmp_path):
    p = load_policy(_write(tmp_path, 'extends = "kitami"\n[holds]\nlimit = 25\n'))
    assert p.holds.limit == 25
    assert p.holds.overdue_blocks is True  # inherited
    assert p.profile == "mine"


def test_config_overrides_are_applied_on_top():
    p = load_policy("mito", {"pickup": {"days": 10}})
    assert p.pickup.days == 10 and p.holds.limit == 15


def test_a_misspelt_key_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"holds\.limt: unknown key"):
        load_policy(_write(tmp_path, 'extends = "kitami"\n[holds]\nlimt = 25\n'))


def test_a_wrong_type_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"holds\.limit: .*integer"):
        load_policy(_write(tmp_path, 'extends = "kitami"\n[holds]\nlimit = "twenty"\n'))


def test_a_bad_choice_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"series\.gate"):
        load_policy(_write(tmp_path, 'extends = "kitami"\n[series]\ngate = "whenever"\n'))


def test_a_missing_required_key_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"pickup: required key is missing"):
        load_policy(_write(tmp_path, '[library]\nname = "x"\nname_en = "x"\nmail_from = "a@b.jp"\n'))


def test_a_bad_send_time_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"notices\.send_times\.0"):
        load_policy(_write(tmp_path, 'extends = "kitami"\n[notices]\nsend_times = ["25:00"]\n'))


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(PolicyError, match="known profiles: kitakyushu, kitami"):
        load_policy("sapporo")


def test_broken_toml_is_reported(tmp_path):
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(_write(tmp_path, "[holds\nlimit = 3\n"))


def _pydantic_loaded_by_a_process_that_loads(ref: str) -> bool:
    program = f"import sys; from ils.library.policy import load_policy; load_policy({ref!r}); print('pydantic' in sys.modules)"
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_a_policy_validated_once_is_loaded_by_the_next_command_without_pydantic(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    profile = _write(tmp_path, 'extends = "kitami"\n[holds]\nlimit = 25\n')
    assert _pydantic_loaded_by_a_process_that_loads(profile)  # the first validates it
    assert not _pydantic_loaded_by_a_process_that_loads(profile)
    assert (tmp_path / "cache" / "ils").stat().st_mode & 0o777 == 0o700


def test_a_profile_changed_after_it_was_cached_is_validated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    profile = _write(tmp_path, 'extends = "kitami"\n[holds]\nlimit = 25\n')
    assert load_policy(profile).holds.limit == 25
    assert load_policy(profile).holds.limit == 25  # from the cache
    _write(tmp_path, 'extends = "kitami"\n[holds]\nlimit = 0\n')
    with pytest.raises(PolicyError, match=r"holds\.limit: Input should be greater than or equal to 1"):
        load_policy(profile)


def test_a_cached_policy_still_needs_its_domain_lists(tmp_path, monkeypatch):
    from ils.library import policy

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bundled = policy.data_path
    monkeypatch.setattr(policy, "data_path",  # the list in a folder of the test's own, the profiles where they are
                        lambda *parts: tmp_path.joinpath("data", *parts) if parts == ("our-domains.txt",) else bundled(*parts))
    listing = tmp_path / "data" / "our-domains.txt"
    listing.parent.mkdir()
    listing.write_text("example.jp\n", encoding="utf-8")
    profile = _write(tmp_path, 'extends = "kitsuki"\n[email]\nblocked_domain_lists = ["our-domains.txt"]\n')
    assert load_policy(profile).email.blocked_domain_lists == ("our-domains.txt",)
    listing.unlink()
    with pytest.raises(PolicyError, match=r"email: Value error, no file 'our-domains\.txt'"):  # as when never cached
        load_policy(profile)
