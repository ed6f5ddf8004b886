"""The glossary: every metric, programme and funder of the model has its English and Chinese
label (and every metric its unit), lookups by hand, unknown languages and keys."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml
from pydantic import ValidationError

from simlib import glossary as g
from simlib.glossary import Glossary, check_lang, label, labels, missing, unit
from simlib.ledger import FUNDERS, PROGRAMMES
from simlib.model import METRICS
from simlib.targets import AT_RISK, MET, NOT_MET, STATUS_ZH
from tests.conftest import BASELINE

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_nothing_of_the_model_is_missing():
    assert missing() == {"metrics": [], "programmes": [], "funders": []}


def test_missing_lists_what_the_glossary_lacks(monkeypatch):
    full = g.glossary()
    programmes = {k: v for k, v in full.programmes.items() if k != "tekun"}
    metrics = {k: v for k, v in full.metrics.items() if k != "beds"}
    cut = full.model_copy(update={"programmes": programmes, "metrics": metrics})
    monkeypatch.setattr(g, "glossary", lambda: cut)
    assert missing() == {"metrics": ["beds"], "programmes": ["tekun"], "funders": []}
    # a report still shows something: the key itself
    assert label("programmes", "tekun", "zh") == "tekun"


def test_every_metric_has_both_labels_and_units():
    for m in METRICS:
        en, zh = label("metrics", m.name, "en"), label("metrics", m.name, "zh")
        assert en != m.name and CJK.search(zh), m.name
        # the English unit is the metric's own, so the two cannot drift apart
        assert unit(m.name, "en") == m.unit, m.name
        assert unit(m.name, "zh") and not unit(m.name, "zh").isascii(), m.name


def test_every_programme_and_funder_has_both_labels():
    for kind, keys in (("programmes", PROGRAMMES), ("funders", FUNDERS)):
        for key in keys:
            assert label(kind, key, "en") != key, key
            assert CJK.search(label(kind, key, "zh")), key


def test_labels_are_unique_within_a_kind():
    # two metrics with one label could not be told apart in a report (terms may repeat:
    # "readme" and "description" are both 说明)
    for kind in (k for k in g.KINDS if k != "terms"):
        for lang in ("zh", "en"):
            names = list(labels(kind, lang).values())
            assert len(names) == len(set(names)), (kind, lang)


def test_labels_by_hand():
    assert label("metrics", "dibao_persons", "zh") == "低保对象人数（年末）"
    assert label("metrics", "dibao_persons", "en") == "Dibao recipients (persons, December)"
    assert unit("dibao_standard_month", "zh") == "元/人·月"
    assert unit("dibao_standard_month", "en") == "yuan/person/month"
    assert unit("beds", "zh") == "张"
    assert unit("medical_assist_person_times", "zh") == "人次"
    assert unit("temp_assist_cases", "zh") == "户次"
    assert unit("dibao_spending_real", "zh") == "元/年（基期价格）"
    assert label("metrics", "tekun_spending_real", "zh") == "特困人员救助供养支出（实际值）"
    assert label("programmes", "tekun", "zh") == "特困人员救助供养"
    assert label("programmes", "dibao", "en") == "Dibao"
    assert label("funders", "central", "zh") == "中央财政"
    assert label("funders", "county", "en") == "County / district government"
    assert label("areas", "yanbian", "zh") == "盐边县"
    assert label("areas", "all", "zh") == "全市"
    assert label("strata", "all", "zh") == "合计"
    assert label("terms", "percent_difference", "zh") == "差额（%）"
    assert label("terms", "plan_period", "zh") == "“十三五”时期（2016-2020年）"
    assert labels("strata", "en") == {"urban": "Urban", "rural": "Rural", "all": "Urban and rural"}
    assert list(labels("funders", "zh")) == list(FUNDERS)  # in booking order


def test_statuses_are_the_targets_statuses():
    assert labels("statuses", "zh") == STATUS_ZH
    assert [label("statuses", s, "en") for s in (MET, AT_RISK, NOT_MET)] == [
        "Met",
        "At risk",
        "Not met",
    ]


def test_areas_are_the_baselines():
    areas = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))["areas"]
    for code, area in areas.items():
        assert label("areas", code, "en") == area["name"]["en"]
        assert label("areas", code, "zh") == area["name"]["zh"]
    assert set(labels("areas", "zh")) == {*areas, "all"}


def test_unknown_keys_are_shown_as_themselves():
    assert label("metrics", "no_such_metric", "zh") == "no_such_metric"
    assert label("terms", "no_such_term", "en") == "no_such_term"
    assert unit("no_such_metric", "zh") == ""


def test_unknown_languages_and_kinds_are_refused():
    assert check_lang("zh") == "zh" and check_lang("en") == "en"
    for lang in ("fr", "ZH", "", "zh-CN"):
        with pytest.raises(ValueError, match=r"unknown language .*: use zh or en"):
            check_lang(lang)
    with pytest.raises(ValueError, match=r"unknown language 'fr': use zh or en"):
        label("metrics", "no_such_metric", "fr")  # refused even for an unknown key
    with pytest.raises(ValueError, match="unknown language"):
        unit("beds", "fr")
    with pytest.raises(ValueError, match="unknown language"):
        labels("areas", "fr")
    with pytest.raises(ValueError, match="unknown kind of label 'metric'"):
        label("metric", "beds", "en")


def test_the_file_is_package_data():
    assert resources.files("simlib").joinpath("glossary.yaml").is_file()
    assert g.glossary() is g.glossary()  # read once


@pytest.mark.parametrize(
    "broken",
    [
        {"metrics": {"beds": {"en": "Beds", "zh": "床位"}}},  # no unit
        {"programmes": {"dibao": {"en": "Dibao"}}},  # no Chinese
        {"funders": {"central": {"en": "Central", "zh": ""}}},  # empty label
        {"areas": {"all": {"en": "City", "zh": "全市", "fr": "Ville"}}},  # unknown field
        {"units": {}},  # unknown section
    ],
)
def test_a_malformed_glossary_is_refused(broken):
    good = yaml.safe_load(resources.files("simlib").joinpath("glossary.yaml").read_text("utf-8"))
    Glossary.model_validate(good)
    with pytest.raises(ValidationError):
        Glossary.model_validate(good | broken)
