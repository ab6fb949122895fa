"""Provider status words, PIN placeholders and the znet reply parser's edge cases."""

import logging

import pytest

from django_order_monitor.adapters.base import Outcome, StatusResult, clean_pin
from django_order_monitor.adapters.znet import parse_status_reply
from django_order_monitor.statuses import classify


@pytest.mark.parametrize(
    "word, outcome",
    [
        ("Completed", Outcome.COMPLETED),
        (" DONE ", Outcome.COMPLETED),
        ("delivered", Outcome.COMPLETED),
        ("canceled", Outcome.FAILED),
        ("Cancelled", Outcome.FAILED),
        ("reject", Outcome.FAILED),
        ("fail", Outcome.FAILED),
        ("processing", Outcome.PROCESSING),
        ("Pending", Outcome.PROCESSING),
        ("queued", Outcome.PROCESSING),
    ],
)
def test_status_words_are_matched_case_insensitively(word, outcome):
    assert classify(word) is outcome


def test_unknown_words_are_a_warning_not_a_guess(caplog):
    with caplog.at_level(logging.WARNING, logger="django_order_monitor.statuses"):
        assert classify("teleported") is None
    assert caplog.messages == ["Unknown provider status word 'teleported'; treated as a failed query"]


@pytest.mark.parametrize("pin, expected", [(None, None), ("", None), (" ", None), (" - ", None), ("-", None), (" AB-12 ", "AB-12")])
def test_pin_placeholders_are_no_pin(pin, expected):
    assert clean_pin(pin) == expected
    assert StatusResult(Outcome.PROCESSING, pin=pin).pin == expected


@pytest.mark.parametrize(
    "reply, outcome, pin, message",
    [
        ("OK|2|AB12-CD34-EF56-GH78|İşlem tamamlandı|kanal 2", Outcome.COMPLETED, "AB12-CD34-EF56-GH78", "İşlem tamamlandı|kanal 2"),
        ("OK|1| - |İşlem bekleniyor", Outcome.PROCESSING, None, "İşlem bekleniyor"),
        ("OK|3| |İptal edildi", Outcome.FAILED, None, "İptal edildi"),
        ("3|Sipariş bulunamadı", Outcome.QUERY_ERROR, None, None),
        ("8|Bağlantı Hatası", Outcome.QUERY_ERROR, None, None),
        ("OK|2| - |no pin yet", Outcome.QUERY_ERROR, None, None),
        ("OK|9|X|?", Outcome.QUERY_ERROR, None, None),
        ("", Outcome.QUERY_ERROR, None, None),
        ("<html>502</html>", Outcome.QUERY_ERROR, None, None),
    ],
    ids=["completed-pipe", "waiting-dash", "cancelled", "not-found", "auth", "done-no-pin", "unknown-durum", "empty", "garbage"],
)
def test_znet_replies(reply, outcome, pin, message):
    result = parse_status_reply(reply)
    assert result.outcome is outcome
    assert result.pin == pin
    if message is not None:
        assert result.message == message
    if pin:
        assert pin not in result.raw  # the stored reply never holds the PIN
