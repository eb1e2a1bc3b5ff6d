"""Logger CSV import (T-8.1.5-a, T-7.7-a; docs/formats/logger-csv.md): the bad inputs of issue 6."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.coldchain import (
    DEFAULT_LIMITS,
    ColdChainSpec,
    FindingKind,
    ShipperKind,
    analyse_cold_chain,
)
from cellchain.instruments import loggers
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.loggers import LoggerCsvFormat, TemperatureUnit, _shape, read_logger_csv

UTC_C = LoggerCsvFormat(unit=TemperatureUnit.CELSIUS, timezone="UTC")
T0 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
LN2 = ColdChainSpec(DEFAULT_LIMITS[ShipperKind.LN2_DRY_SHIPPER], interval_s=60, transit_limit_s=72 * 3600)


def csv_bytes(rows, header="time,temperature", meta=()):
    lines = [f"# {k}: {v}" for k, v in meta] + [header] + [",".join(map(str, r)) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def minute_rows(values, start_minute=0):
    return [(f"2026-03-01T{(start_minute + i) // 60:02d}:{(start_minute + i) % 60:02d}:00Z", v)
            for i, v in enumerate(values)]  # fmt: skip


def read(data, fmt=UTC_C, **kw):
    return read_logger_csv(data, fmt, name="TL-1.csv", **kw)


def read_slowly(data, fmt=UTC_C, **kw):
    """The row-by-row reference reader, forced."""
    original = loggers._fast_columns

    def refuse(*_args):
        raise _shape._NotFast

    loggers._fast_columns = refuse
    try:
        return read(data, fmt, **kw)
    finally:
        loggers._fast_columns = original


def error_of(data, fmt=UTC_C, **kw) -> InstrumentFileError:
    with pytest.raises(InstrumentFileError) as info:
        read(data, fmt, **kw)
    assert info.value.file == "TL-1.csv"
    return info.value


# --- the generic format -----------------------------------------------------------------------------


def test_generic_file_with_metadata_is_read_in_utc_celsius():
    data = csv_bytes(
        [("2026-03-01T08:00:00", -185.2), ("2026-03-01T08:01:00", -185.1)],
        meta=[("logger", "TL-1"), ("timezone", "Asia/Shanghai"), ("unit", "°C"), ("interval_s", "60"),
              ("armed_at", "2026-03-01T07:55:00+08:00")],
    )  # fmt: skip
    result = read_logger_csv(data, name="TL-1.csv", expected_logger="TL-1")
    assert result.logger_id == "TL-1" and result.interval_s == 60.0
    assert result.armed_at == datetime(2026, 2, 28, 23, 55, tzinfo=UTC).timestamp()
    assert result.trace.times.tolist() == [
        datetime(2026, 3, 1, 0, 0, tzinfo=UTC).timestamp(),
        datetime(2026, 3, 1, 0, 1, tzinfo=UTC).timestamp(),
    ]
    assert result.trace.celsius.tolist() == [-185.2, -185.1]
    assert result.trace.source == "TL-1.csv"


def test_column_mapping_with_ignored_columns_and_semicolons():
    fmt = LoggerCsvFormat(
        time_column="Zeit", temperature_column="Temp", unit=TemperatureUnit.CELSIUS, timezone="UTC",
        delimiter=";", decimal=",", ignored_columns=frozenset({"Alarm"}),
    )  # fmt: skip
    data = b"Zeit;Temp;Alarm\n2026-03-01 00:00:00;-185,5;no\n2026-03-01 00:01:00;-184,0;no\n"
    result = read(data, fmt)
    assert result.trace.celsius.tolist() == [-185.5, -184.0]
    assert result.trace.times.tolist() == [T0, T0 + 60]


def test_fahrenheit_file_is_converted():
    data = csv_bytes(
        [("2026-03-01T00:00:00Z", 41), ("2026-03-01T00:01:00Z", 46.4)], header="time,temperature (°F)"
    )
    fmt = LoggerCsvFormat(temperature_column="temperature (°F)")
    result = read(data, fmt)
    assert result.units == {TemperatureUnit.FAHRENHEIT}
    assert result.trace.celsius == pytest.approx([5.0, 8.0])


def test_unit_column_allows_per_row_units():
    fmt = LoggerCsvFormat(unit_column="unit", timezone="UTC")
    data = b"time,temperature,unit\n2026-03-01T00:00:00,5,C\n2026-03-01T00:01:00,41,F\n"
    result = read(data, fmt)
    assert result.trace.celsius == pytest.approx([5.0, 5.0])
    assert result.units == {TemperatureUnit.CELSIUS, TemperatureUnit.FAHRENHEIT}


def test_pattern_and_epoch_time_formats():
    fmt = LoggerCsvFormat(
        unit=TemperatureUnit.CELSIUS, timezone="Asia/Shanghai", time_format="%d/%m/%Y %H:%M:%S"
    )
    result = read(b"time,temperature\n01/03/2026 08:00:00,-180\n01/03/2026 08:01:00,-180\n", fmt)
    assert result.trace.times.tolist() == [T0, T0 + 60]
    epoch = LoggerCsvFormat(unit=TemperatureUnit.CELSIUS, time_format="epoch")
    assert read(f"time,temperature\n{T0},-180\n{T0 + 60},-180\n".encode(), epoch).trace.times.tolist() == [
        T0,
        T0 + 60,
    ]


def test_offsets_and_fractions_are_honoured():
    data = b"time,temperature\n2026-03-01T08:00:00.250+08:00,-180\n2026-03-01T00:01:00Z,-180\n2026-02-28T19:02:00-0500,-180\n"
    result = read(data, LoggerCsvFormat(unit=TemperatureUnit.CELSIUS))
    assert result.trace.times.tolist() == [T0 + 0.25, T0 + 60, T0 + 120]


def test_blank_lines_and_comments_in_the_header_are_fine():
    data = b"\n# exported by logger tool\n\ntime,temperature\n2026-03-01T00:00:00Z,-180\n\n2026-03-01T00:01:00Z,-181\n\n"
    assert read(data).trace.celsius.tolist() == [-180.0, -181.0]


def test_header_only_file_gives_an_empty_trace_that_the_analysis_refuses():
    result = read(b"time,temperature\n")
    assert len(result.trace) == 0
    verdict = analyse_cold_chain(result.trace, LN2, dispatched_at=T0, arrived_at=T0 + 3600)
    assert not verdict.within_limits


# --- bad input --------------------------------------------------------------------------------------


def test_unknown_column_is_an_error_naming_it():
    err = error_of(b"time,temperature,humidity\n2026-03-01T00:00:00Z,-180,40\n")
    assert err.line == 1 and err.column == "humidity"
    assert "unknown column 'humidity'" in str(err)


def test_missing_mapped_column_is_an_error():
    err = error_of(
        b"timestamp,temperature\n2026-03-01T00:00:00Z,-180\n",
        LoggerCsvFormat(ignored_columns=frozenset({"timestamp"})),
    )
    assert "mapped column 'time' is missing" in err.reason


def test_text_in_a_number_names_the_line():
    data = csv_bytes(minute_rows([-180, -181, "-18x.5", -182]))
    err = error_of(data)
    assert (err.line, err.column) == (4, "temperature")
    assert "'-18x.5' is not a number" in err.reason


@pytest.mark.parametrize("cell", ["nan", "inf", "", "1,5", "0x10", "1_000"])
def test_non_numbers_are_refused(cell):
    err = error_of(csv_bytes(minute_rows([-180, cell])))
    assert err.line == 3


@pytest.mark.parametrize(
    ("stamp", "why"),
    [
        ("2026-13-01T00:00:00Z", "not a valid date"),
        ("2026-03-01T00:00Z", "not ISO 8601"),
        ("yesterday", "not ISO 8601"),
        ("now", "not ISO 8601"),
        ("2026-03-01T00:00:00+25:00", "impossible UTC offset"),
    ],
)
def test_bad_timestamps_name_the_line(stamp, why):
    err = error_of(csv_bytes([("2026-03-01T00:00:00Z", -180), (stamp, -180)]))
    assert (err.line, err.column) == (3, "time")
    assert why in err.reason


def test_local_times_without_a_zone_are_refused_not_taken_as_utc():
    err = error_of(
        b"time,temperature\n2026-03-01T00:00:00,-180\n", LoggerCsvFormat(unit=TemperatureUnit.CELSIUS)
    )
    assert "no time zone" in err.reason


def test_ambiguous_local_time_at_a_clock_change_is_refused():
    fmt = LoggerCsvFormat(unit=TemperatureUnit.CELSIUS, timezone="Europe/Berlin")
    data = b"time,temperature\n2026-10-25T01:59:00,-180\n2026-10-25T02:30:00,-180\n"
    err = error_of(data, fmt)
    assert err.line == 3 and "ambiguous or does not exist" in err.reason


def test_clock_change_day_is_converted_row_by_row():
    fmt = LoggerCsvFormat(unit=TemperatureUnit.CELSIUS, timezone="Europe/Berlin")
    data = b"time,temperature\n2026-03-29T01:59:00,-180\n2026-03-29T03:00:00,-180\n"
    result = read(data, fmt)
    assert result.trace.times[1] - result.trace.times[0] == 60.0


def test_mixed_units_without_a_unit_column_are_an_error():
    data = b"time,temperature\n2026-03-01T00:00:00Z,5 \xc2\xb0C\n2026-03-01T00:01:00Z,41 \xc2\xb0F\n"
    err = error_of(data, LoggerCsvFormat())
    assert err.line == 3 and "mixed units without a unit column" in err.reason
    assert "line 2" in err.reason


def test_consistent_unit_suffixes_are_accepted():
    data = b"time,temperature\n2026-03-01T00:00:00Z,41F\n2026-03-01T00:01:00Z,46.4 F\n"
    assert read(data, LoggerCsvFormat()).trace.celsius == pytest.approx([5.0, 8.0])


def test_suffix_contradicting_the_file_unit_is_an_error():
    err = error_of(b"time,temperature\n2026-03-01T00:00:00Z,41 F\n")
    assert "units disagree" in err.reason


def test_no_unit_anywhere_is_an_error():
    err = error_of(b"time,temperature\n2026-03-01T00:00:00Z,-180\n", LoggerCsvFormat())
    assert err.line == 2 and "no unit" in err.reason


def test_unknown_unit_in_the_unit_column_is_an_error():
    fmt = LoggerCsvFormat(unit_column="unit")
    err = error_of(b"time,temperature,unit\n2026-03-01T00:00:00Z,-180,K\n", fmt)
    assert (err.line, err.column) == (2, "unit")


def test_wrong_number_of_fields_is_an_error():
    err = error_of(b"time,temperature\n2026-03-01T00:00:00Z,-180\n2026-03-01T00:01:00Z,-180,3\n")
    assert err.line == 3 and "3 fields" in err.reason


def test_disconnected_probe_999_becomes_a_fault_not_a_temperature():
    """Issue 6: a 999 from a disconnected probe is recorded as a fault, never as a reading or dropped."""
    data = csv_bytes(minute_rows([-185, -185, 999, -185]))
    result = read(data)
    assert result.sentinel_readings == 1 and len(result.trace) == 4
    assert np.isnan(result.trace.celsius[2])
    verdict = analyse_cold_chain(result.trace, LN2, dispatched_at=T0, arrived_at=T0 + 180)
    assert not verdict.within_limits
    assert [f.kind for f in verdict.blocking_findings] == [FindingKind.PROBE_FAULT]
    assert verdict.excursions == ()


def test_sentinel_is_recognised_in_the_files_own_unit():
    data = csv_bytes(minute_rows([41, 999]), header="time,temperature (°F)")
    result = read(data, LoggerCsvFormat(temperature_column="temperature (°F)"))
    assert result.sentinel_readings == 1 and np.isnan(result.trace.celsius[1])


def test_missing_markers_become_faults():
    fmt = LoggerCsvFormat(unit=TemperatureUnit.CELSIUS, missing_markers=frozenset({"---"}))
    result = read(csv_bytes(minute_rows([-185, "---", -185])), fmt)
    assert result.missing_readings == 1 and np.isnan(result.trace.celsius[1])


def test_duplicated_and_out_of_order_times_are_kept_for_the_analysis():
    rows = minute_rows([-185, -185, -185, -185])
    rows = [rows[0], rows[2], rows[1], rows[3], rows[3]]
    result = read(csv_bytes(rows))
    assert len(result.trace) == 5
    verdict = analyse_cold_chain(result.trace, LN2, dispatched_at=T0, arrived_at=T0 + 180)
    kinds = {f.kind for f in verdict.findings}
    assert {FindingKind.OUT_OF_ORDER, FindingKind.DUPLICATE} <= kinds
    assert not verdict.within_limits


def test_file_for_another_shipments_logger_is_refused():
    data = csv_bytes(minute_rows([-185]), meta=[("logger", "TL-9")])
    err = error_of(data, expected_logger="TL-1")
    assert err.line == 1 and "another shipment" in err.reason


def test_non_utf8_file_names_the_byte_offset():
    data = b"time,temperature\n2026-03-01T00:00:00Z,-180\xff\n"
    assert error_of(data).offset == data.index(b"\xff")


def test_conflicting_declared_units_are_an_error():
    data = csv_bytes(minute_rows([41]), header="time,temperature (°F)", meta=[("unit", "C")])
    err = error_of(data, LoggerCsvFormat(temperature_column="temperature (°F)"))
    assert "conflicting units" in err.reason


def test_unknown_time_zone_is_an_error():
    err = error_of(csv_bytes(minute_rows([-180]), meta=[("timezone", "Mars/Olympus")]), LoggerCsvFormat())
    assert "unknown IANA time zone" in err.reason


# --- the bulk path agrees with the reference reader -------------------------------------------------

STAMPS = st.builds(
    lambda minute, frac, offset, sep: (
        datetime.fromtimestamp(T0 + 60 * minute, UTC).strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + offset
    ),
    st.integers(0, 10**6),
    st.sampled_from(["", ".5", ".123456"]),
    st.sampled_from(["", "Z", "+08:00", "-0530"]),
    st.sampled_from(["T", " "]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            STAMPS, st.floats(min_value=-300, max_value=300, allow_nan=False).map(lambda v: round(v, 2))
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
)
def test_bulk_reader_equals_row_by_row_reader(rows, zone):
    """Property: the fast path never changes a reading; where it gives up, the reference decides."""
    fmt = LoggerCsvFormat(unit=TemperatureUnit.CELSIUS, timezone=zone)
    data = csv_bytes(rows)
    try:
        slow = read_slowly(data, fmt)
    except InstrumentFileError as exc:
        with pytest.raises(InstrumentFileError) as info:
            read(data, fmt)
        assert (info.value.line, info.value.reason) == (exc.line, exc.reason)
        return
    fast = read(data, fmt)
    np.testing.assert_allclose(fast.trace.times, slow.trace.times, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(fast.trace.celsius, slow.trace.celsius)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([-185.0, -160.0, -140.0, 999.0]), min_size=2, max_size=80),
    st.integers(min_value=1, max_value=79),
)
def test_splitting_a_file_never_turns_an_out_of_range_shipment_within_limits(values, cut):
    """Property: one export or the same readings in two files give the same cold-chain verdict."""
    cut = min(cut, len(values) - 1)
    rows = minute_rows(values)
    arrived = T0 + 60 * (len(values) - 1)
    whole = analyse_cold_chain(read(csv_bytes(rows)).trace, LN2, dispatched_at=T0, arrived_at=arrived)
    parts = [read(csv_bytes(rows[:cut])).trace, read(csv_bytes(rows[cut:])).trace]
    split = analyse_cold_chain(parts[::-1], LN2, dispatched_at=T0, arrived_at=arrived)
    assert split.within_limits == whole.within_limits
    assert split.excursions == whole.excursions
    if any(v == -140.0 for v in values):
        assert not split.within_limits
