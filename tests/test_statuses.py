"""Provider status words, PIN placeholders and the znet reply parser's edge cases."""

import logging

import pytest

from django_order_monitor.conf import DEFAULTS
from django_order_monitor.providers import vocabulary
from django_order_monitor.providers.adapters.base import Outcome, StatusResult, clean_pin
from django_order_monitor.providers.adapters.batchjson import BatchJsonProvider
from django_order_monitor.providers.adapters.znet import parse_status_reply
from django_order_monitor.providers.vocabulary import classify
from django_order_monitor.testing.fake_batchjson import STATUS_WORDS as FAKE_BATCH_WORDS
from django_order_monitor.testing.fake_batchjson import FakeBatchJsonServer


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
    with caplog.at_level(logging.WARNING, logger="django_order_monitor.providers.vocabulary"):
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


# -- one vocabulary (issue 10, defect 16) --------------------------------------------------

#: The reference shop's external statuses (DESIGN.md) and what each must mean.
DESIGN_WORDS = {
    "not_sent": None, "unknown": None,
    "queued": Outcome.PROCESSING, "pending": Outcome.PROCESSING, "sent": Outcome.PROCESSING,
    "processing": Outcome.PROCESSING,
    "completed": Outcome.COMPLETED, "done": Outcome.COMPLETED, "success": Outcome.COMPLETED,
    "delivered": Outcome.COMPLETED,
    "failed": Outcome.FAILED, "fail": Outcome.FAILED, "error": Outcome.FAILED, "rejected": Outcome.FAILED,
    "reject": Outcome.FAILED, "cancelled": Outcome.FAILED, "canceled": Outcome.FAILED,
}
#: Words the JSON batch provider family sends (Barakat/Apstore style).
BATCH_PROVIDER_WORDS = {
    **dict.fromkeys(["success", "ok", "done", "complete", "completed", "accept"], Outcome.COMPLETED),
    **dict.fromkeys(["reject", "rejected", "failed", "fail", "error", "cancelled", "canceled"], Outcome.FAILED),
    **dict.fromkeys(["wait", "pending", "processing", "inprogress", "queued", "queue"], Outcome.PROCESSING),
}


@pytest.mark.parametrize(("word", "outcome"), [*DESIGN_WORDS.items(), *BATCH_PROVIDER_WORDS.items()])
def test_design_and_provider_words_mean_what_they_say(word, outcome, caplog):
    with caplog.at_level(logging.WARNING, logger="django_order_monitor.providers.vocabulary"):
        assert classify(word) is outcome
        assert classify(word.upper()) is outcome
    assert caplog.messages == []  # known words, "unknown" included, are no news to log


def known_words() -> dict[str, Outcome | None]:
    """Every word some part of the library knows, with the outcome that part gives it."""
    words: dict[str, Outcome | None] = {**DESIGN_WORDS, **BATCH_PROVIDER_WORDS}
    words.update(dict.fromkeys(DEFAULTS["SUCCESS_STATUSES"], Outcome.COMPLETED))
    words.update(dict.fromkeys(DEFAULTS["FAILURE_STATUSES"], Outcome.FAILED))
    words.update(dict.fromkeys(DEFAULTS["DISPATCHED_STATUSES"], Outcome.PROCESSING))
    words.update(dict.fromkeys(vocabulary.PROCESSING_WORDS, Outcome.PROCESSING))
    words.update(dict.fromkeys(vocabulary.NO_NEWS_WORDS, None))
    for durum, outcome in ((1, Outcome.PROCESSING), (2, Outcome.COMPLETED), (3, Outcome.FAILED)):
        words.update(dict.fromkeys(FAKE_BATCH_WORDS[durum], outcome))
    return words


def test_every_word_the_adapters_and_the_settings_know_classifies_the_same_way():
    # The same word, wherever it was learnt, means one thing: to classify(), to the
    # default settings and to the JSON adapter reading it off a real server.
    words = known_words()
    with FakeBatchJsonServer(api_token="t0ken-for-words") as fake:
        provider = BatchJsonProvider(base_url=fake.url, api_token="t0ken-for-words")
        for index, word in enumerate(sorted(words)):
            ref = f"W{index}"
            fake.add_order(ref, outcome="never")
            fake.set_word(ref, word)
            fake.set_fields(ref, pin="PIN-0001")
        results = provider.fetch_statuses([f"W{index}" for index in range(len(words))])
        provider.close()
    seen = {word: results[f"W{index}"].outcome for index, word in enumerate(sorted(words))}
    expected = {word: outcome or Outcome.QUERY_ERROR for word, outcome in words.items()}
    assert seen == expected
    assert {word: classify(word) for word in words} == words
