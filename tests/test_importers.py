"""Platform importers on small exports written by hand in each platform's real format
(tests/data/exports/; the README's "Importing platform exports" names where each is specified)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from storage.errors import UUEError
from storage.records import validate_user
from uue.data.importers import ImportFormatError, create_importer, import_users

EXPORTS = Path(__file__).parent / "data" / "exports"


def by_id(users):
    for user in users:
        validate_user(json.loads(json.dumps(user)))  # every record is a valid users.jsonl line
    return {u["user_id"]: u for u in users}


def test_reddit_export_posts_and_comments():
    users = by_id(import_users("reddit", EXPORTS / "reddit"))
    assert list(users) == ["trail_mix_42"]  # the account name from statistics.csv
    chunks = users["trail_mix_42"]["chunks"]
    assert [c["text"] for c in chunks] == [
        "Finished the PCT!\n\nFive months, 2650 miles.\nAsk me anything about resupply.",
        "My first sourdough loaf", "Trail runners over boots, every time."]  # [deleted] skipped
    assert chunks[0]["timestamp"] == "2023-05-01T12:00:00Z" and chunks[0]["platform"] == "reddit"
    assert chunks[2]["metadata"]["kind"] == "comment" and chunks[2]["metadata"]["subreddit"] == "hiking"
    one_file = import_users("reddit", EXPORTS / "reddit" / "comments.csv", user_id="me")
    assert [u["user_id"] for u in one_file] == ["me"] and len(one_file[0]["chunks"]) == 1


def test_reddit_without_account_name_asks_for_user_id(tmp_path):
    (tmp_path / "comments.csv").write_text((EXPORTS / "reddit" / "comments.csv").read_text())
    with pytest.raises(UUEError, match="--user-id"):
        import_users("reddit", tmp_path)


def test_twitter_archive():
    users = by_id(import_users("twitter", EXPORTS / "twitter"))
    chunks = users["nightowl_dev"]["chunks"]  # the username from data/account.js
    assert [c["text"] for c in chunks] == ["Shipping at 3am again & loving it. #nightshift",  # HTML unescaped
                                           "@rustlang the borrow checker finally clicked for me"]  # retweet skipped
    assert chunks[1]["timestamp"] == "2023-04-24T01:30:00Z"
    assert chunks[1]["metadata"] == {"tweet_id": "1650000000000000002", "lang": "en", "reply_to": "rustlang"}
    assert import_users("twitter", EXPORTS / "twitter" / "data" / "tweets.js", user_id="x")[0]["user_id"] == "x"


def test_telegram_text_entities_and_windows():
    users = by_id(import_users("telegram", EXPORTS / "telegram" / "result.json"))
    ana = users["user111"]
    assert ana["metadata"]["name"] == "Ana"
    # two messages two minutes apart join one chunk; the next day's starts another; service lines skipped
    assert [c["text"] for c in ana["chunks"]] == [
        "Who is in for the bouldering gym on Saturday?\nBring chalk, the gym ran out.",
        "Route setting schedule for next week"]
    assert ana["chunks"][0]["timestamp"] == "2023-03-01T18:01:00Z"  # from date_unixtime
    assert ana["chunks"][0]["metadata"] == {"chat": "Climbing club", "messages": 2}
    narrow = by_id(import_users("telegram", EXPORTS / "telegram", window=1))
    assert len(narrow["user111"]["chunks"]) == 3


def test_telegram_whole_account_export(tmp_path):
    chat = json.loads((EXPORTS / "telegram" / "result.json").read_text())
    (tmp_path / "result.json").write_text(json.dumps({"about": "…", "chats": {"list": [chat]},
                                                      "left_chats": {"list": []}}))
    assert set(by_id(import_users("telegram", tmp_path))) == {"user111", "user222"}


def test_whatsapp_android_24h_multiline_and_system_lines():
    users = by_id(import_users("whatsapp", EXPORTS / "whatsapp" / "android.txt", tz="Europe/Berlin"))
    assert list(users) == ["Maria", "Tom"]
    maria = users["Maria"]["chunks"]
    assert maria[0]["text"] == "Anyone want tomato seedlings?\nI have six San Marzano and\nfour cherry ones."
    assert maria[0]["timestamp"] == "2023-01-15T08:02:00Z"  # 09:02 in Berlin
    assert [c["text"] for c in users["Tom"]["chunks"]] == ["Yes please! I can trade basil."]  # media note skipped


def test_whatsapp_ios_12h_month_first():
    users = by_id(import_users("whatsapp", EXPORTS / "whatsapp" / "ios.txt"))
    assert list(users) == ["Sam", "Lee"]  # the U+200E system line and "image omitted" skipped
    assert users["Sam"]["chunks"][0]["timestamp"] == "2023-01-15T21:02:15Z"
    assert users["Sam"]["chunks"][1]["timestamp"] == "2023-01-16T07:45:00Z"
    assert [c["text"] for c in users["Lee"]["chunks"]] == ["Last minute goal!!"]


@pytest.mark.parametrize(("line", "order", "expected"), [
    ("03.04.23, 18:05 - Kim: hi", None, "2023-04-03T18:05:00Z"),            # German Android, dots
    ("03/04/2023, 6:05 pm - Kim: hi", "mdy", "2023-03-04T18:05:00Z"),        # ambiguous: --date-order
    ("[03/04/2023, 18:05:09] Kim: hi", None, "2023-04-03T18:05:09Z"),        # ambiguous: day first
    ("[4/3/23, 12:05:09 AM] Kim: hi", "mdy", "2023-04-03T00:05:09Z"),        # 12 AM is midnight
    ("4/3/23, 12:05\u202fPM - Kim: hi", "mdy", "2023-04-03T12:05:00Z"),     # narrow no-break space
])
def test_whatsapp_date_formats(tmp_path, line, order, expected):
    chat = tmp_path / "chat.txt"
    chat.write_text(line + "\n", encoding="utf-8")
    users = import_users("whatsapp", chat, date_order=order)
    assert users[0]["chunks"][0]["timestamp"] == expected


def test_generic_csv_column_mapping():
    users = by_id(import_users("csv", EXPORTS / "messages.csv", user_col="author", text_col="message",
                               time_col="sent_at", tz="Europe/Berlin", platform_name="forum"))
    u1 = users["u1"]["chunks"]
    assert [c["timestamp"] for c in u1] == ["2024-02-01T10:00:00Z", "2024-02-03T17:00:00Z"]  # Z kept; Berlin
    assert u1[0]["metadata"] == {"channel": "forum"} and u1[0]["platform"] == "forum"
    assert users["u2"]["chunks"][0]["timestamp"] == "2024-02-01T11:00:00Z"  # Unix seconds


@pytest.mark.parametrize(("platform", "name", "content", "message"), [
    ("telegram", "result.json", '{"messages": [\n{"id": 1,\n', "result.json:3: invalid JSON"),
    ("telegram", "result.json", '{"chats": 3}', "not a Telegram Desktop JSON export"),
    ("telegram", "result.json", '{"messages": [{"id": 7, "type": "message", "from_id": "u", "text": 5}]}',
     "message 7: 'text' is neither"),
    ("whatsapp", "chat.txt", "hello there\n15/01/2023, 09:02 - A: hi\n", "chat.txt:1: not a WhatsApp chat export"),
    ("whatsapp", "chat.txt", "31/02/2023, 09:02 - A: hi\n", "chat.txt:1: impossible date/time"),
    ("twitter", "tweets.js", "var x = [];", "tweets.js:1: not an X/Twitter archive file"),
    ("twitter", "tweets.js", 'window.YTD.tweets.part0 = [\n{"tweet": {"full_text": "x"}}\n]',
     "tweet 0 (no id) lacks full_text or created_at"),
    ("csv", "m.csv", "who,what\na,b\n", "m.csv:1: no column 'author', 'message'"),
    ("csv", "m.csv", "author,message,sent_at\na,b,yesterday-ish\n", "m.csv:2: unreadable date/time"),
    ("csv", "m.csv", "author,message\na,b,c\n", "m.csv:2: 3 fields, the header has 2"),
])
def test_bad_files_name_path_and_line(tmp_path, platform, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    options = {"user_col": "author", "text_col": "message", "time_col": "sent_at" if "sent_at" in content else None}
    options = options if platform == "csv" else {"user_id": "me"} if platform == "twitter" else {}
    with pytest.raises(ImportFormatError) as err:
        import_users(platform, path, **options)
    assert message in str(err.value)


def test_factory_names_the_choices_and_refuses_foreign_options():
    with pytest.raises(UUEError, match="unknown platform 'myspace': choose one of reddit, twitter, telegram"):
        create_importer("myspace")
    with pytest.raises(UUEError, match="whatsapp does not take user_col"):
        create_importer("whatsapp", user_col="a")
    with pytest.raises(UUEError, match="csv needs --user-col and --text-col"):
        create_importer("csv", user_col="a")


def run(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_cli_import_out_and_ingest(tmp_path):
    out = tmp_path / "users.jsonl"
    result = run(tmp_path / "h", "import", "whatsapp", str(EXPORTS / "whatsapp" / "android.txt"),
                 "--out", str(out), "--ingest", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["users"] == 2 and data["chunks"] == 3 and data["ingested"]["users_added"] == 2
    assert [json.loads(line)["user_id"] for line in out.read_text().splitlines()] == ["Maria", "Tom"]
    stats = json.loads(run(tmp_path / "h", "stats", "--json").output)
    assert stats["users"] == 2 and stats["platforms"] == {"whatsapp": 3}
    shown = json.loads(run(tmp_path / "h", "users", "show", "Maria", "--json").output)
    assert shown["chunks"][0]["timestamp"].startswith("2023-01-15T09:02")


def test_cli_import_errors_without_traceback(tmp_path):
    missing = run(tmp_path / "h", "import", "telegram", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o"))
    assert missing.exit_code == 1 and "nope.json: no such file or directory" in missing.output
    (tmp_path / "bad.txt").write_text("not a chat\n")
    bad = run(tmp_path / "h", "import", "whatsapp", str(tmp_path / "bad.txt"), "--out", str(tmp_path / "o.jsonl"))
    assert bad.exit_code == 1 and "bad.txt:1: not a WhatsApp chat export" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "o.jsonl").exists()
    no_target = run(tmp_path / "h", "import", "whatsapp", str(tmp_path / "bad.txt"))
    assert no_target.exit_code == 2 and "--out" in no_target.output
