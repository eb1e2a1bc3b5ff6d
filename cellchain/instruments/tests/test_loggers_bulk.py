"""The bulk logger reader (polars + numpy) against the row-by-row reference (T-8.1.5-a; decision 0007).

The bulk path may give up on a file (it then goes row by row), but a file it accepts must give exactly
what the reference gives: the same times bit for bit, the same temperatures, units and counts; and a file
the reference refuses must be refused with the same line, column and reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cellchain.instruments import loggers
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.loggers import LoggerCsvFormat, TemperatureUnit, _fast, _shape, read_logger_csv

C = TemperatureUnit.CELSIUS
FORMATS = {
    "generic": LoggerCsvFormat(unit=C, timezone="Europe/Berlin"),
    "no zone": LoggerCsvFormat(unit=C),
    "New York": LoggerCsvFormat(unit=C, timezone="America/New_York"),
    "Lord Howe": LoggerCsvFormat(unit=C, timezone="Australia/Lord_Howe"),  # 30-minute clock change
    "fahrenheit": LoggerCsvFormat(unit=TemperatureUnit.FAHRENHEIT, timezone="UTC"),
    "suffixes": LoggerCsvFormat(timezone="UTC"),
    "unit column": LoggerCsvFormat(unit_column="unit", timezone="Asia/Shanghai"),
    "unit column, file says C": LoggerCsvFormat(unit_column="unit", unit=C, timezone="UTC"),
    "ignored": LoggerCsvFormat(unit=C, timezone="UTC", ignored_columns=frozenset({"note"})),
    "semicolons": LoggerCsvFormat(
        unit=C, timezone="Europe/Berlin", delimiter=";", decimal=",", ignored_columns=frozenset({"note"})
    ),
    "epoch": LoggerCsvFormat(unit=C, time_format="epoch"),
    "epoch, decimal comma": LoggerCsvFormat(unit=C, time_format="epoch", delimiter=";", decimal=","),
    "pattern": LoggerCsvFormat(unit=C, timezone="Europe/Berlin", time_format="%d/%m/%Y %H:%M:%S"),
    "pattern without seconds": LoggerCsvFormat(unit=C, timezone="UTC", time_format="%Y%m%d %H%M"),
    "markers": LoggerCsvFormat(unit=C, timezone="UTC", missing_markers=frozenset({"---"})),
}
HEADERS = {
    "unit column": ["time", "temperature", "unit"],
    "unit column, file says C": ["time", "temperature", "unit"],
    "ignored": ["note", "time", "temperature"],
    "semicolons": ["time", "temperature", "note"],
}

# Local days with clock changes (Berlin, New York, Lord Howe) and ordinary days.
DAYS = [datetime(2026, 3, 29), datetime(2026, 10, 25), datetime(2026, 3, 8), datetime(2026, 11, 1),
        datetime(2026, 4, 5), datetime(2026, 10, 4), datetime(2026, 6, 15), datetime(2024, 2, 29)]  # fmt: skip
BROKEN_STAMPS = [
    "2026-13-01T00:00:00", "2026-02-30T00:00:00", "2026-03-01T24:00:00", "2026-03-01T23:60:00",
    "2026-03-01T23:59:60", "0000-01-01T00:00:00", "2026-03-01T00:00", " 2026-03-01T00:00:00",
    "2026-03-01T00:00:00 ", "2026-03-01t00:00:00", "2026-03-01T00:00:00z", "2026-03-01T00:00:00+25:00",
    "2026-03-01T00:00:00+0860", "2026-03-01T00:00:00.", "2026-03-01T00:00:00.1234567890",
    "2026-3-01T00:00:00", "2026-03-01T00:00:00+08", "2026-03-01T00:00:00++0800", "yesterday", "",
    "2026-03-01T00:00:00,5", "2026-03-01X00:00:00", "２026-03-01T00:00:00", "1772323200", "1e400",
]  # fmt: skip
ODD_NUMBERS = [
    "999", "-999", "999.0", "-999.000", " -185.2", "-185.2 ", "+4", ".5", "5.", "1e1", "1E+2", "-0",
    "00012", "nan", "NaN", "inf", "-Infinity", "1e400", "1e-400", "", " ", "abc", "1,5", "1.5,3", "0x10",
    "1_000", "-18x.5", "41F", "5 °C", "46.4 F", "-185 C", "1.5.3", "--1", '"-180"', "---", "١٢", "1e",
]  # fmt: skip
UNITS = ["C", "F", "c", " C", "°C", "°F", "degC", "deg F", "Celsius", "FAHRENHEIT", "℃", "K", "", "x"]


@st.composite
def stamps(draw: st.DrawFn, fmt: LoggerCsvFormat, odd: int) -> str:
    time_format = fmt.time_format
    if draw(st.integers(0, odd)) == 1:
        return draw(st.sampled_from(BROKEN_STAMPS))
    moment = draw(st.sampled_from(DAYS)) + timedelta(minutes=draw(st.integers(0, 36 * 60)))
    moment += timedelta(seconds=draw(st.sampled_from([0, 0, 0, 1, 59])))
    if time_format == "epoch":
        epoch = moment.replace(tzinfo=UTC).timestamp() + draw(st.sampled_from([0, 0, 0.5, 0.125]))
        return draw(st.sampled_from([repr(epoch), str(int(epoch)), f"{epoch:.3f}", f"{epoch:.1f}"]))
    if time_format != "iso":
        return moment.strftime(time_format)
    text = moment.strftime(f"%Y-%m-%d{draw(st.sampled_from('T '))}%H:%M:%S")
    fractions = ["", "", "", ".5", ".123456", ".000000001"] + ([",25"] if fmt.delimiter != "," else [])
    text += draw(st.sampled_from(fractions))
    return text + draw(st.sampled_from(["", "", "", "Z", "+08:00", "-0530", "+00:00", "-10:00"]))


@st.composite
def temperatures(draw: st.DrawFn, decimal: str, odd: int) -> str:
    if draw(st.integers(0, odd)) == 1:
        text = draw(st.sampled_from(ODD_NUMBERS))
    else:
        value = draw(st.floats(min_value=-300, max_value=300, allow_nan=False))
        text = draw(st.sampled_from([repr(value), f"{value:.1f}", f"{value:.2f}", str(round(value))]))
    return text.replace(".", ",") if decimal == "," and draw(st.booleans()) else text


@st.composite
def logger_files(draw: st.DrawFn) -> tuple[bytes, LoggerCsvFormat]:
    key = draw(st.sampled_from(sorted(FORMATS)))
    fmt = FORMATS[key]
    header = HEADERS.get(key, ["time", "temperature"])
    lines = [fmt.delimiter.join(header)]
    # Half the files are clean exports; in the others about one row in `odd` has something odd.
    odd = draw(st.sampled_from([0, 0, 0, 0, 5, 20, 60]))
    for _ in range(draw(st.integers(0, 25))):
        shape = draw(st.integers(0, odd))
        if shape == 1:
            lines.append(draw(st.sampled_from(["", " ", "\t", "# comment"])))
            continue
        cells = {
            "time": draw(stamps(fmt, odd)),
            "temperature": draw(temperatures(fmt.decimal, odd)),
            "unit": draw(st.sampled_from(UNITS if draw(st.integers(0, odd)) == 1 else UNITS[:2])),
            "note": draw(st.sampled_from(["", "", "ok", "door open", "x y"])),
        }
        row = [cells[column] for column in header]
        if shape == 2:
            row.append("extra")
        elif shape == 3:
            row.pop()
        lines.append(fmt.delimiter.join(row))
    ending = draw(st.sampled_from(["\n", "\n", "", "\n\n"]))
    meta = draw(st.sampled_from(["", "# logger: TL-1\n", "\ufeff# interval_s: 60\n"]))
    text = meta + "\n".join(lines) + ending
    if draw(st.integers(0, 10)) == 0:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8"), fmt


def read(data: bytes, fmt: LoggerCsvFormat) -> loggers.LoggerFile:
    return read_logger_csv(data, fmt, name="TL-1.csv")


def read_slowly(data: bytes, fmt: LoggerCsvFormat, monkeypatch: pytest.MonkeyPatch) -> loggers.LoggerFile:
    with monkeypatch.context() as patch:
        patch.setattr(loggers, "_fast_columns", _refuse)
        return read(data, fmt)


def _refuse(*_args: object) -> _shape._Columns:
    raise _shape._NotFast


def outcome(read_it: object) -> tuple[object, ...]:
    """What a reader made of a file: the error's place and reason, or the exact readings."""
    try:
        result = read_it()  # type: ignore[operator]
    except InstrumentFileError as exc:
        return ("refused", exc.line, exc.column, exc.offset, exc.reason)
    trace = result.trace
    return (
        "read",
        trace.times.tobytes(),  # bit for bit
        np.where(np.isnan(trace.celsius), -1e300, trace.celsius).tobytes(),
        sorted(result.units),
        result.sentinel_readings,
        result.missing_readings,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=logger_files())
@example(file=(b"time,temperature\n2026-03-29T02:30:00,-180\n", FORMATS["generic"]))  # does not exist
@example(file=(b"time,temperature\n2026-10-25T02:30:00,-180\n", FORMATS["generic"]))  # ambiguous
@example(file=(b"time,temperature\n2026-10-25T01:30:00,-180\n2026-10-25T03:30:00,-180\n", FORMATS["generic"]))
@example(
    file=(b"note,time,temperature\n,2026-03-01T00:00:00,-180\nok,2026-03-01T00:01:00\n", FORMATS["ignored"])
)
@example(file=(b"time,temperature\n1772323200,-180\n1e400,-180\n", FORMATS["epoch"]))
@example(file=(b"time;temperature\n1772323200,5;-180\n", FORMATS["epoch, decimal comma"]))
def test_bulk_and_row_by_row_readers_agree(file: tuple[bytes, LoggerCsvFormat], monkeypatch) -> None:
    """Property (T-8.1.5-a): same readings bit for bit, or the same error at the same line."""
    data, fmt = file
    slow = outcome(lambda: read_slowly(data, fmt, monkeypatch))
    fast = outcome(lambda: read(data, fmt))
    assert fast == slow


# --- the bulk path is really taken for the usual exports ---------------------------------------------


def _minutes(start: datetime, n: int, layout: str) -> list[str]:
    return [(start + timedelta(minutes=i)).strftime(layout) for i in range(n)]


USUAL = {
    "generic, local times": (
        FORMATS["generic"],
        "# logger: TL-1\ntime,temperature\n"
        + "".join(f"{t},-18{i % 10}.{i % 7}\n" for i, t in enumerate(_minutes(datetime(2026, 3, 1), 3000, "%Y-%m-%dT%H:%M:%S"))),
    ),
    "clock change day in the file": (
        FORMATS["generic"],
        "time,temperature\n"
        + "".join(f"{t},-180\n" for t in _minutes(datetime(2026, 3, 29), 120, "%Y-%m-%d %H:%M:%S")
                  if not t.startswith("2026-03-29 02:")),
    ),
    "offsets and fractions": (
        FORMATS["no zone"],
        "time,temperature\n2026-03-01T08:00:00.250+08:00,-180\n2026-03-01T00:01:00Z,-180\n"
        "2026-02-28T19:02:00-0500,-180\n2026-03-01T00:03:00.000000001Z,-180\n",
    ),
    "unit column": (
        FORMATS["unit column"],
        "time,temperature,unit\n2026-03-01T00:00:00,5,C\n2026-03-01T00:01:00,41,F\n2026-03-01T00:02:00,999,°F\n",
    ),
    "semicolons, decimal comma, empty notes": (
        FORMATS["semicolons"],
        "time;temperature;note\n2026-03-01 00:00:00;-185,5;\n2026-03-01 00:01:00;-184,0;door\n",
    ),
    "epoch": (FORMATS["epoch"], "time,temperature\n1772323200,-180\n1772323260.5,-181\n"),
    "pattern": (FORMATS["pattern"], "time,temperature\n01/03/2026 08:00:00,-180\n01/03/2026 08:01:00,-180\n"),
    "windows line ends and BOM": (FORMATS["generic"], "\ufefftime,temperature\r\n2026-03-01T08:00:00,-180\r\n"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(USUAL))
def test_usual_exports_take_the_bulk_path(case: str, monkeypatch) -> None:
    """The bulk path must not quietly give up on ordinary files (decision 0007), and agrees with the reference."""
    fmt, text = USUAL[case]
    data = text.encode("utf-8")
    slow = outcome(lambda: read_slowly(data, fmt, monkeypatch))

    def no_slow_path(*_args: object) -> _shape._Columns:
        raise AssertionError("the row-by-row reader was used")

    monkeypatch.setattr(loggers, "_slow_columns", no_slow_path)
    assert outcome(lambda: read(data, fmt)) == slow
    assert slow[0] == "read"


def test_a_blank_line_in_the_body_is_skipped_by_both_readers(monkeypatch) -> None:
    data = b"time,temperature\n2026-03-01T00:00:00Z,-180\n\n2026-03-01T00:01:00Z,-181\n"
    fmt = FORMATS["no zone"]
    assert outcome(lambda: read(data, fmt)) == outcome(lambda: read_slowly(data, fmt, monkeypatch))
    assert read(data, fmt).trace.celsius.tolist() == [-180.0, -181.0]


# --- the calendar and zone arithmetic of the bulk path ----------------------------------------------

ZONES = ["Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "Africa/Casablanca", "America/Havana",
         "Europe/Dublin", "Pacific/Chatham", "Asia/Shanghai", "UTC"]  # fmt: skip
EPOCH = datetime(1970, 1, 1)


def _day_of(moment: datetime) -> int:
    return (moment - EPOCH).days


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(min_value=_day_of(datetime(2010, 1, 1)), max_value=_day_of(datetime(2030, 12, 31))),
)
@example("America/Sao_Paulo", _day_of(datetime(2018, 11, 4)))  # clocks jumped at midnight
@example("America/Havana", _day_of(datetime(2019, 3, 10)))  # midnight, too
@example("America/Havana", _day_of(datetime(2019, 11, 3)))  # back at 01:00 to 00:00
@example("Australia/Lord_Howe", _day_of(datetime(2026, 4, 5)))  # 30-minute change
@example("Africa/Casablanca", _day_of(datetime(2019, 5, 5)))  # Ramadan
@example("Europe/Dublin", _day_of(datetime(2026, 10, 25)))  # "negative" summer time
@example("Pacific/Chatham", _day_of(datetime(2026, 4, 5)))  # changes at 03:45
def test_a_day_offset_is_only_given_for_a_day_without_a_clock_change(zone: str, day: int) -> None:
    """The zone's offset per local day (two look-ups) agrees with looking every quarter hour, both folds."""
    tz = ZoneInfo(zone)
    start = EPOCH + timedelta(days=day)
    seen = {
        (start + timedelta(minutes=15 * k)).replace(tzinfo=tz, fold=fold).utcoffset()
        for k in range(96)
        for fold in (0, 1)
    } | {(start + timedelta(seconds=86_399)).replace(tzinfo=tz, fold=fold).utcoffset() for fold in (0, 1)}
    offset = _fast._day_offset(day, tz)
    if len(seen) == 1:
        assert offset == next(iter(seen)).total_seconds()  # type: ignore[union-attr]
    else:
        assert offset is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=99_99_99_99), min_size=1, max_size=20))
@example([1970_01_01, 2024_02_29, 2023_02_29, 1900_02_29, 2000_02_29, 1_01_01, 9999_12_31, 2026_04_31])
def test_dates_convert_and_are_refused_as_the_calendar_does(keys: list[int]) -> None:
    def days(key: int) -> int | None:
        try:
            return (datetime(key // 10_000, key // 100 % 100, key % 100) - EPOCH).days
        except ValueError:
            return None

    expected = [days(k) for k in keys]
    if None in expected:
        with pytest.raises(_shape._NotFast):
            _fast._epoch_days(np.array(keys, dtype=np.int32))
    else:
        assert _fast._epoch_days(np.array(keys, dtype=np.int32)).tolist() == expected
