"""The long-format history reader: units, errors with file and line, skipped years."""

from __future__ import annotations

from pathlib import Path

import pytest

from simlib.history import HistoryError, canonical, read_history, series

DATA = Path(__file__).resolve().parents[1] / "params" / "data"
HEADER = "year,indicator,value,unit,status,source_publication,source_url,note\n"
AREA_HEADER = "year,area,indicator,value,unit,status,source_publication,source_url,note\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_units_are_converted_to_one_canonical_unit_per_family(tmp_path):
    path = write(
        tmp_path,
        "national.csv",
        HEADER
        + "2015,urban_dibao_persons,1701.1,10k persons,quoted,p,u,\n"
        + "2015,urban_dibao_expenditure,719.3,100m yuan,quoted,p,u,\n"
        + "2015,rural_dibao_std_avg,3744,yuan/person/year,derived,p,u,\n"
        + "2015,urban_dibao_std_avg,451.1,yuan/person/month,quoted,p,u,\n"
        + "2015,cpi_all,1.4,% y/y,quoted,p,u,\n"
        + "2015,engel_all,30.6,%,quoted,p,u,\n"
        + "2015,dispinc_pc_all,21966,yuan/person/year,quoted,p,u,\n"
        + "2015,beds,672.7,10k beds,quoted,p,u,\n"
        + "2015,institutions,2.8,10k units,quoted,p,u,\n",
    )
    table = read_history([path])
    got = {row.indicator: (row.value, row.unit) for row in table.itertuples()}
    assert got["urban_dibao_persons"] == pytest.approx((17_011_000, "persons"))  # 1701.1 × 10,000
    assert got["urban_dibao_expenditure"] == pytest.approx((71_930_000_000, "yuan"))  # 719.3 × 1e8
    # a yearly dibao standard becomes monthly: 3744 / 12 = 312
    assert got["rural_dibao_std_avg"] == pytest.approx((312.0, "yuan/person/month"))
    assert got["urban_dibao_std_avg"] == pytest.approx((451.1, "yuan/person/month"))
    assert got["cpi_all"] == pytest.approx((0.014, "rate"))  # 1.4 % y/y -> 0.014
    assert got["engel_all"] == pytest.approx((0.306, "share"))
    # an income per person per year is not a standard: kept yearly
    assert got["dispinc_pc_all"] == pytest.approx((21966, "yuan/person/year"))
    assert got["beds"] == pytest.approx((6_727_000, "beds"))
    assert got["institutions"] == pytest.approx((28_000, "count"))
    assert set(table["area"]) == {"national"}  # no area column: national
    assert table["year"].dtype == "int64"
    assert list(table["line"]) == list(range(2, 11))


def test_canonical_refuses_an_unknown_unit():
    assert canonical("rural_dibao_std_avg_monthly", 117.0, "yuan/person/month") == (
        117.0,
        "yuan/person/month",
    )
    with pytest.raises(KeyError, match="furlongs"):
        canonical("x", 1.0, "furlongs")


def test_names_are_stripped_and_area_kept(tmp_path):
    path = write(
        tmp_path,
        "city.csv",
        AREA_HEADER
        + "2019, Panzhihua , dispinc_pc_urban ,41864, yuan/person/year ,quoted,p,u,+8.7%\n",
    )
    table = read_history([path])
    row = table.iloc[0]
    assert (row["area"], row["indicator"], row["unit"]) == (
        "Panzhihua",
        "dispinc_pc_urban",
        "yuan/person/year",
    )
    assert row["note"] == "+8.7%"
    assert row["file"] == "city.csv"
    assert series(table, "dispinc_pc_urban", "Panzhihua") == {2019: 41864.0}
    assert series(table, "dispinc_pc_urban") == {}  # national: absent


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2015,x,1.0,furlongs,quoted,p,u,", "unknown unit 'furlongs'"),
        ("2015,x,n/a,persons,quoted,p,u,", "'n/a' is not a number"),
        ("2015,x,,persons,quoted,p,u,", "'' is not a number"),
        ("2015,x,1.0,persons,maybe,p,u,", "unknown status 'maybe'"),
        ("2015,x,1.0,persons,quoted,p", "6 fields, the header has 8"),
    ],
)
def test_a_bad_row_names_file_and_line(tmp_path, row, message):
    path = write(tmp_path, "bad.csv", HEADER + "2014,y,2.0,persons,quoted,p,u,\n" + row + "\n")
    with pytest.raises(HistoryError, match=message) as err:
        read_history([path])
    assert f"{path}:3:" in str(err.value)  # header line 1, a good row line 2, the bad row line 3


def test_a_missing_column_is_an_error(tmp_path):
    path = write(
        tmp_path, "dated.csv", "date,indicator,value,unit,status\n2013-08,x,1,persons,quoted\n"
    )
    with pytest.raises(HistoryError, match=r"dated.csv:1: missing column\(s\) year, source_pub"):
        read_history([path])


def test_conflicting_duplicates_name_both_places(tmp_path):
    same = write(
        tmp_path,
        "same.csv",
        HEADER
        + "2015,cpi_all,1.4,% y/y,quoted,p,u,\n"
        + "2016,cpi_all,2.0,% y/y,quoted,p,u,\n"
        + "2015,cpi_all,1.5,% y/y,quoted,p,u,\n",
    )
    with pytest.raises(HistoryError) as err:
        read_history([same])
    assert f"{same}:4:" in str(err.value) and f"{same}:2" in str(err.value)

    first = write(tmp_path, "a.csv", AREA_HEADER + "2018,Panzhihua,p,7523,persons,quoted,p,u,\n")
    second = write(
        tmp_path,
        "b.csv",
        AREA_HEADER
        + "2017,Panzhihua,p,1,persons,quoted,p,u,\n2018,Panzhihua,p,0.75,10k persons,quoted,p,u,\n",
    )
    with pytest.raises(HistoryError, match="7500 persons conflicts with 7523") as err:
        read_history([first, second])
    assert f"{second}:3:" in str(err.value) and f"{first}:2" in str(err.value)


def test_identical_duplicates_are_kept_once(tmp_path):
    # 7523 persons and 0.7523 10k persons are the same figure
    first = write(tmp_path, "a.csv", AREA_HEADER + "2018,Panzhihua,p,7523,persons,quoted,p,u,\n")
    second = write(
        tmp_path, "b.csv", AREA_HEADER + "2018,Panzhihua,p,0.7523,10k persons,derived,p,u,\n"
    )
    table = read_history([first, second])
    assert len(table) == 1
    assert table.iloc[0]["file"] == "a.csv"  # the first one read


def test_rows_without_a_plain_year_are_skipped_and_counted(tmp_path):
    path = write(
        tmp_path,
        "sc.csv",
        AREA_HEADER
        + "2021H1,Sichuan,a,1,persons,quoted,p,u,\n"
        + "2021H1,Sichuan,b,1,persons,quoted,p,u,\n"
        + "2020 (month n/a),Sichuan,c,1,100m yuan,quoted,p,u,\n"
        + "2020,Sichuan,d,1,persons,quoted,p,u,\n",
    )
    table = read_history([path])
    assert list(table["indicator"]) == ["d"]
    assert table.attrs["skipped"] == {"sc.csv": {"2021H1": 2, "2020 (month n/a)": 1}}


def test_the_shipped_files_read_and_the_derived_2018_incomes():
    files = ["national_consumption_cpi.csv", "panzhihua_bulletins.csv", "sichuan.csv"]
    table = read_history([DATA / f for f in [*files, "panzhihua_derived.csv"]])
    # sichuan.csv has eight 2021H1 rows, two 2020H1 rows and one "2020 (month n/a)"
    assert table.attrs["skipped"]["sichuan.csv"] == {
        "2021H1": 8,
        "2020H1": 2,
        "2020 (month n/a)": 1,
    }
    assert sum(table.attrs["skipped"]["national_consumption_cpi.csv"].values()) == 0
    urban = series(table, "dispinc_pc_urban", "Panzhihua")
    rural = series(table, "dispinc_pc_rural", "Panzhihua")
    # 2019 levels and growth in the bulletin: 41864 (+8.7%), 18352 (+9.8%)
    # 41864 / 1.087 = 38513.34 ; 18352 / 1.098 = 16714.03 (rounded to yuan in the file)
    assert urban[2019] == 41864 and abs(urban[2018] - 41864 / 1.087) < 0.5
    assert rural[2019] == 18352 and abs(rural[2018] - 18352 / 1.098) < 0.5
    derived = table[(table["file"] == "panzhihua_derived.csv")]
    assert set(derived["status"]) == {"derived"}
    assert all("/1.0" in note for note in derived["note"])  # the formula is in the note
    # 101.23 亿元 = 101.23 × 1e8 yuan
    assert series(table, "general_public_budget_revenue", "Panzhihua") == {
        2023: pytest.approx(1.0123e10)
    }
    # the statuses are kept: the 2019 national food CPI is an unsourced recollection
    food = table[(table["indicator"] == "cpi_food") & (table["year"] == 2019)]
    assert list(food["status"]) == ["unsourced"]


def test_the_copies_are_verbatim():
    shared = Path("/work/shared/data")
    if not shared.is_dir():
        pytest.skip("the shared data folder is not mounted here")
    for name in ("national_consumption_cpi.csv", "panzhihua_bulletins.csv", "sichuan.csv"):
        assert (DATA / name).read_bytes() == (shared / name).read_bytes(), name


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(HistoryError, match=r"nowhere\.csv: cannot read the file"):
        read_history([tmp_path / "nowhere.csv"])


# Every unit that appears in the long-format files of the shared data (and their verbatim
# copies in params/data), with what one of it is in the canonical unit, worked by hand.
EVERY_SHARED_UNIT = {
    "persons": (1.0, "persons"),
    "10k persons": (10_000.0, "persons"),
    "10k households": (10_000.0, "households"),
    "10k person-times": (10_000.0, "person-times"),
    "10k yuan": (10_000.0, "yuan"),
    "100m yuan": (100_000_000.0, "yuan"),
    "yuan/person/year": (1.0, "yuan/person/year"),
    "yuan/person/month": (1.0, "yuan/person/month"),
    "beds": (1.0, "beds"),
    "10k beds": (10_000.0, "beds"),
    "beds per 1000 aged 60+": (1.0, "beds per 1000 aged 60+"),
    "count": (1.0, "count"),
    "10k units": (10_000.0, "count"),
    "% y/y": (0.01, "rate"),
    "%": (0.01, "share"),
    "index": (1.0, "index"),
}


def test_every_unit_in_the_shared_files_converts():
    import csv

    shared = Path("/work/shared/data")
    files = [*DATA.glob("*.csv"), *(shared.glob("*.csv") if shared.is_dir() else [])]
    found = set()
    for path in files:
        with path.open(encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if {"indicator", "unit"} <= set(reader.fieldnames or ()):
                found |= {row["unit"].strip() for row in reader}
    assert found, "no long-format files found"
    assert found <= set(EVERY_SHARED_UNIT), sorted(found - set(EVERY_SHARED_UNIT))
    for unit in found:
        assert canonical("some_count", 1.0, unit) == pytest.approx(EVERY_SHARED_UNIT[unit])
    # a yearly standard (any indicator with _std) is a monthly one: 3,744 a year = 312 a month
    assert canonical("rural_dibao_std_avg", 3744.0, "yuan/person/year") == (
        312.0,
        "yuan/person/month",
    )
