"""GS1 EPCIS event hash: the canonical pre-hash string of an event and its ``ni:///sha-256;…?ver=CBV2.0`` ID
(CBV 2.0 §8.9 "EPCIS Event Hash ID"; issue 12 item 2).

Two installations that describe the same event get the same ID, and any change of a value, or a field added or
removed, changes it; so the ID names the event across organisations without a shared counter. The rules are
GS1's (https://github.com/RalphTro/epcis-event-hash-generator, README "Algorithm", rules 1-24, and the
canonical property order). Where GS1's reference implementation (PyPI ``epcis-event-hash-generator`` 1.9.3)
reads the README in a particular way, this module follows the implementation, because partners compute IDs
with it: see docs/decisions/0018-epcis-event-identity.md for the list (sourceList/destinationList/
bizTransactionList sorted with the user extensions after the ordered fields, ``type`` written before the
value, every numeric-looking string normalised as a number).

Pure: no Django, no JSON-LD processor, no network. JSON-LD events only (CellChain writes no EPCIS XML).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cellchain.domain import epcis_vocabulary as vocab

CBV_VERSION = "CBV2.0"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
STANDARD_PREFIXES: dict[str, str] = {"gs1": GS1_VOC, "cbv": CBV, "epcis": "https://ref.gs1.org/epcis/"}
IGNORED_EVENT_FIELDS = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "@context"})
"""Not part of the hash (rule set: the ID must not depend on itself, on when it was recorded, or on a later
error declaration)."""
_IGNORED_EVERYWHERE = frozenset({"#text", "rdfs:comment", "comment"})


class EpcisHashError(ValueError):
    """An event the hash cannot be computed for: the message says which field and why."""


# --------------------------------------------------------------------------- values


def _time(field: str, text: str) -> str:
    """Rules 8/9: UTC, ``Z``, milliseconds (rounded as the reference implementation rounds)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise EpcisHashError(f"{field}: {text!r} is not an RFC 3339 date-time") from error
    if moment.tzinfo is None:
        raise EpcisHashError(f"{field}: {text!r} has no time zone offset, so its UTC instant is unknown")
    moment = moment.astimezone(UTC)
    millis = round(moment.microsecond, -3)
    moment = moment.replace(microsecond=0) + timedelta(microseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _numeric(text: str) -> str:
    """Rule 6: ``1.0`` -> ``1``, ``+0.50`` -> ``0.5``; non-numbers untouched (as the reference, on any value)."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return str(int(number)) if number.is_integer() else str(number)


_URN_VOCABULARY = (
    ("urn:epcglobal:cbv:bizstep:", CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV + "ER-"),
)


def _check_digit(digits: str) -> str:
    """GS1 standard check digit (GS1 General Specifications §7.9.1)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _dl_escape(text: str) -> str:
    for char, code in (("!", "%21"), ("(", "%28"), (")", "%29"), ("*", "%2A"), ("+", "%2B"), (",", "%2C")):
        text = text.replace(char, code)
    return text.replace(":", "%3A")


_EPC_CHARS = r"(?:%[0-9A-Fa-f]{2}|[!')(*+,.0-9:;=A-Za-z_-])"


def _gtin(prefix: str, item: str) -> str:
    raw = item[:1] + prefix + item[1:]
    return raw + _check_digit(raw)


def _sgtin(m: re.Match[str]) -> str:
    return f"https://id.gs1.org/01/{_gtin(m[1], m[2])}/21/{_dl_escape(m[3])}"


def _lgtin(m: re.Match[str]) -> str:
    return f"https://id.gs1.org/01/{_gtin(m[1], m[2])}/10/{_dl_escape(m[3])}"


def _gtin_class(m: re.Match[str]) -> str:
    return f"https://id.gs1.org/01/{_gtin(m[1], m[2])}"


def _sscc(m: re.Match[str]) -> str:
    raw = m[2][:1] + m[1] + m[2][1:]
    return f"https://id.gs1.org/00/{raw}{_check_digit(raw)}"


def _sgln(m: re.Match[str]) -> str:
    gln = m[1] + m[2]
    gln += _check_digit(gln)
    return f"https://id.gs1.org/414/{gln}" + ("" if m[3] == "0" else f"/254/{_dl_escape(m[3])}")


def _pgln(m: re.Match[str]) -> str:
    gln = m[1] + m[2]
    return f"https://id.gs1.org/417/{gln}{_check_digit(gln)}"


def _grai(m: re.Match[str]) -> str:
    raw = "0" + m[1] + m[2]
    return f"https://id.gs1.org/8003/{raw}{_check_digit(raw)}{_dl_escape(m[3])}"


def _giai(m: re.Match[str]) -> str:
    return f"https://id.gs1.org/8004/{m[1]}{_dl_escape(m[2])}"


def _gdti(m: re.Match[str]) -> str:
    raw = m[1] + m[2]
    return f"https://id.gs1.org/253/{raw}{_check_digit(raw)}{_dl_escape(m[3])}"


def _keyed(scheme: str, tail: str) -> re.Pattern[str]:
    """``urn:epc:<scheme>:<company prefix>.<reference>…`` (the digit total is checked per scheme)."""
    return re.compile(rf"^urn:epc:{scheme}:(\d{{6,12}})\.(\d*)" + tail + "$")


_EPC_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_keyed("id:sgtin", rf"\.({_EPC_CHARS}{{1,20}})"), _sgtin),
    (_keyed("class:lgtin", rf"\.({_EPC_CHARS}{{1,20}})"), _lgtin),
    (_keyed("idpat:sgtin", r"\.\*"), _gtin_class),
    (_keyed("id:sscc", ""), _sscc),
    (_keyed("id:sgln", rf"\.({_EPC_CHARS}{{1,20}})"), _sgln),
    (_keyed("id:pgln", ""), _pgln),
    (_keyed("id:grai", rf"\.({_EPC_CHARS}{{1,16}})"), _grai),
    (_keyed("id:gdti", rf"\.({_EPC_CHARS}{{0,17}})"), _gdti),
    (re.compile(rf"^urn:epc:id:giai:(\d{{6,12}})\.({_EPC_CHARS}{{1,24}})$"), _giai),
)
_EPC_TOTAL_DIGITS: dict[Callable[[re.Match[str]], str], int] = {
    _sgtin: 13,
    _lgtin: 13,
    _gtin_class: 13,
    _sscc: 17,
    _sgln: 12,
    _pgln: 12,
    _grai: 12,
    _gdti: 12,
}

_DL_ALIASES = {"gtin": "01", "sscc": "00", "gln": "414", "party": "417", "grai": "8003", "giai": "8004", "gdti": "253",
               "lot": "10", "ser": "21", "cpv": "22"}  # fmt: skip
_DL = re.compile(
    r"^https?://[^/?#]+(?:/[^?#]*?)?/(01|gtin|00|sscc|414|gln|417|party|8003|grai|8004|giai|253|gdti)/(\d{4}[^/?#]*)((?:/[^/?#]+/[^/?#]+)*)/?(?:[?#].*)?$"
)


def _digital_link(uri: str) -> str | None:
    """Rules 17/18: EPC URIs and GS1 Digital Link URIs as constrained canonical ``https://id.gs1.org`` URIs.

    Covers the GS1 keys CellChain and its partners exchange (SGTIN, LGTIN, SSCC, SGLN, PGLN and their Digital
    Link forms); any other ``urn:epc:`` scheme is refused rather than hashed differently from GS1's tool."""
    if uri.startswith("urn:epc:"):
        for pattern, convert in _EPC_PATTERNS:
            m = pattern.match(uri)
            total = _EPC_TOTAL_DIGITS.get(convert)
            if m and (total is None or len(m[1]) + len(m[2]) == total):
                return convert(m)
        if uri.startswith(("urn:epc:id:", "urn:epc:class:", "urn:epc:idpat:")):
            raise EpcisHashError(
                f"{uri!r}: this EPC URI scheme is not one CellChain can canonicalise for the event hash "
                "(sgtin, lgtin, idpat:sgtin, sscc, sgln, pgln, grai, giai, gdti), or it is malformed"
            )
        return None
    m = _DL.match(uri)
    if not m:
        return None
    key, value, rest = _DL_ALIASES.get(m[1], m[1]), m[2], m[3]
    qualifiers = dict(zip(rest.split("/")[1::2], rest.split("/")[2::2], strict=True))
    qualifiers = {_DL_ALIASES.get(k, k): v for k, v in qualifiers.items()}
    if key == "01":
        if not value.isdigit():
            return None
        value = value.zfill(14)
        if "21" in qualifiers:
            return f"https://id.gs1.org/01/{value}/21/{qualifiers['21']}"
        if "10" in qualifiers:
            return f"https://id.gs1.org/01/{value}/10/{qualifiers['10']}"
        return f"https://id.gs1.org/01/{value}"
    if key == "414" and "254" in qualifiers:
        return f"https://id.gs1.org/414/{value}/254/{qualifiers['254']}"
    return f"https://id.gs1.org/{key}/{value}"


def canonical_value(text: str, namespaces: Mapping[str, str]) -> str:
    """Rules 5, 6, 14, 15, 17, 18 on one value: trimmed, CBV URNs and CURIEs as URIs, numbers without trailing
    zeros, GS1 keys as canonical Digital Link URIs."""
    text = text.strip()
    for urn, web in _URN_VOCABULARY:
        text = text.replace(urn, web)
    prefix, colon, local = text.partition(":")
    if colon and prefix in namespaces:
        text = namespaces[prefix] + local
    text = _numeric(text)
    return _digital_link(text) or text


def _scalar(value: Any) -> str:
    """A JSON scalar as the reference implementation reads it (``str()``: ``True``, ``5``, ``-142.1``)."""
    if isinstance(value, dict | list):
        raise EpcisHashError(f"expected a single value, found {type(value).__name__}")
    return str(value)


# --------------------------------------------------------------------------- keys and generic fields


def _namespaces_of(context: Any, into: dict[str, str]) -> dict[str, str]:
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            into.update({k: v for k, v in item.items() if isinstance(v, str) and not k.startswith("@")})
    return into


def document_namespaces(document: Mapping[str, Any]) -> dict[str, str]:
    """Prefixes a document declares in ``@context`` (``cellchain`` -> its namespace URI), plus gs1/cbv/epcis."""
    return _namespaces_of(document.get("@context"), dict(STANDARD_PREFIXES))


def _key(name: str, namespaces: Mapping[str, str]) -> str:
    """Rule 20: an extension key as ``{namespace URI}localName``."""
    prefix, colon, local = name.partition(":")
    if colon and prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + local
    return name


def _is_extension(name: str) -> bool:
    return name.startswith("{")


def _generic(name: str, value: Any, namespaces: Mapping[str, str]) -> list[str]:
    """Rules 19-21: any field outside the canonical property order (ILMD, user extensions, the party and
    transaction lists), recursively, children in lexical order; a list yields one string per element."""
    if isinstance(value, list):
        if name.endswith("List"):  # an EPCIS-style list: the element name is the list's without "List"
            items = sorted(s for element in value for s in _generic(name[:-4], element, namespaces))
            return [name + "".join(items)]
        return [s for element in value for s in _generic(name, element, namespaces)]
    if isinstance(value, dict):
        local = dict(namespaces)
        local.update({k[7:]: v for k, v in value.items() if k.startswith("@xmlns:") and isinstance(v, str)})
        text = value.get("#text")
        head = name + (f"={canonical_value(_scalar(text), local)}" if text not in (None, "") else "")
        children = [
            s
            for k, v in value.items()
            if k not in _IGNORED_EVERYWHERE and not k.startswith("@xmlns")
            for s in _generic(_key(k, local), v, local)
        ]
        return [head + "".join(sorted(children))]
    text = _scalar(value).strip()
    return [name + (f"={canonical_value(text, namespaces)}" if text else "")]


def _typed_pairs(field: str, value: Any, item_key: str, types: frozenset[str], ns: Mapping[str, str]) -> str:
    """sourceList / destinationList / bizTransactionList: ``type=…`` then the value, entries sorted."""
    if not isinstance(value, list):
        raise EpcisHashError(f"{field}: expected a list, found {type(value).__name__}")
    entries = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or item_key not in entry:
            raise EpcisHashError(f"{field}[{index}]: expected an object with {item_key!r}")
        text = ""
        if entry.get("type") not in (None, ""):
            text += "type=" + canonical_value(
                _vocabulary(_scalar(entry["type"]), types, CBV + _TYPE_PREFIX[field]), ns
            )
        text += f"{item_key}=" + canonical_value(_scalar(entry[item_key]), ns)
        entries.append(text)
    return field + "".join(sorted(entries))


_TYPE_PREFIX = {"sourceList": "SDT-", "destinationList": "SDT-", "bizTransactionList": "BTT-"}


def _vocabulary(value: str, terms: frozenset[str], base: str) -> str:
    """Rule 16: a bare standard term (``shipping``) as its Web URI (``https://ref.gs1.org/cbv/BizStep-shipping``)."""
    stripped = value.strip()
    return base + stripped if stripped in terms else value


# --------------------------------------------------------------------------- canonical property order


def _field(name: str, value: Any, ns: Mapping[str, str], *, terms: frozenset[str] = frozenset(),
           base: str = "") -> list[str]:  # fmt: skip
    """One ordered field: ``name=value`` per value (several for a repeated field), times normalised."""
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        text = _scalar(item).strip()
        if not text:
            continue
        if "time" in name.lower() and "offset" not in name.lower():
            out.append(f"{name}={_time(name, text)}")
        else:
            out.append(f"{name}={canonical_value(_vocabulary(text, terms, base), ns)}")
    return sorted(out)


def _ordered(obj: Mapping[str, Any], order: Iterable[tuple[str, Callable[[Any], str]]], where: str,
             ns: Mapping[str, str]) -> str:  # fmt: skip
    """Fields of ``order`` in that order, then (rule 21) the object's extensions, sorted."""
    known = dict(order)
    text = "".join(render(obj[name]) for name, render in known.items() if name in obj)
    extras = [k for k in obj if k not in known and k not in _IGNORED_EVERYWHERE]
    unknown = [k for k in extras if not _is_extension(_key(k, ns))]
    if unknown:
        raise EpcisHashError(f"{where}: {', '.join(sorted(unknown))} is not an EPCIS 2.0 field of {where}")
    return text + "".join(sorted(s for k in extras for s in _generic(_key(k, ns), obj[k], ns)))


def _simple(
    name: str, ns: Mapping[str, str], terms: frozenset[str] = frozenset(), base: str = ""
) -> Callable[[Any], str]:
    return lambda value: "".join(_field(name, value, ns, terms=terms, base=base))


def _epc_list(name: str, ns: Mapping[str, str]) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        if not isinstance(value, list):
            raise EpcisHashError(f"{name}: expected a list of URIs")
        epcs = sorted(s for epc in value for s in _field("epc", epc, ns))
        return name + "".join(epcs) if epcs else ""

    return render


def _quantity_list(name: str, ns: Mapping[str, str]) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        if not isinstance(value, list):
            raise EpcisHashError(f"{name}: expected a list of quantity elements")
        order = [(k, _simple(k, ns)) for k in ("epcClass", "quantity", "uom")]
        items = sorted("quantityElement" + _ordered(q, order, f"{name} element", ns) for q in value)
        return name + "".join(items) if items else ""

    return render


def _nested(
    name: str, order: list[tuple[str, Callable[[Any], str]]], ns: Mapping[str, str]
) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        if not isinstance(value, dict):
            raise EpcisHashError(f"{name}: expected an object")
        inner = _ordered(value, order, name, ns)
        return name + inner if inner else ""

    return render


_METADATA_FIELDS = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                    "dataProcessingMethod", "bizRules")  # fmt: skip
_REPORT_FIELDS = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
                  "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
                  "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                  "percValue", "uom", "coordinateReferenceSystem")  # fmt: skip
_REPORT_TERMS = {
    "type": (vocab.MEASUREMENT_TYPES, GS1_VOC),
    "exception": (vocab.SENSOR_ALERT_TYPES, GS1_VOC),
    "component": (vocab.COMPONENTS, CBV + "Comp-"),
}


def _sensor_list(ns: Mapping[str, str]) -> Callable[[Any], str]:
    metadata = [(k, _simple(k, ns)) for k in _METADATA_FIELDS]
    report = [(k, _simple(k, ns, *_REPORT_TERMS.get(k, (frozenset(), "")))) for k in _REPORT_FIELDS]

    def element(value: Any) -> str:
        if not isinstance(value, dict):
            raise EpcisHashError("sensorElementList: each element must be an object")
        reports = value.get("sensorReport", [])
        order = [
            ("sensorMetadata", _nested("sensorMetadata", metadata, ns)),
            (
                "sensorReport",
                lambda reports: "".join(sorted(_nested("sensorReport", report, ns)(r) for r in reports)),
            ),
        ]
        if not isinstance(reports, list):
            raise EpcisHashError("sensorReport: expected a list")
        return "sensorElement" + _ordered(value, order, "sensorElement", ns)

    def render(value: Any) -> str:
        if not isinstance(value, list):
            raise EpcisHashError("sensorElementList: expected a list")
        items = sorted(element(e) for e in value)
        return "sensorElementList" + "".join(items) if items else ""

    return render


def _event_order(ns: Mapping[str, str]) -> list[tuple[str, Callable[[Any], str]]]:
    """The canonical property order (README table; reference implementation's PROP_ORDER)."""
    disposition = (vocab.DISPOSITIONS, CBV + "Disp-")
    return [
        ("eventTime", _simple("eventTime", ns)),
        ("eventTimeZoneOffset", _simple("eventTimeZoneOffset", ns)),
        ("certificationInfo", _simple("certificationInfo", ns)),
        ("parentID", _simple("parentID", ns)),
        ("epcList", _epc_list("epcList", ns)),
        ("inputEPCList", _epc_list("inputEPCList", ns)),
        ("childEPCs", _epc_list("childEPCs", ns)),
        ("quantityList", _quantity_list("quantityList", ns)),
        ("childQuantityList", _quantity_list("childQuantityList", ns)),
        ("inputQuantityList", _quantity_list("inputQuantityList", ns)),
        ("outputEPCList", _epc_list("outputEPCList", ns)),
        ("outputQuantityList", _quantity_list("outputQuantityList", ns)),
        ("action", _simple("action", ns)),
        ("transformationID", _simple("transformationID", ns)),
        ("bizStep", _simple("bizStep", ns, vocab.BIZ_STEPS, CBV + "BizStep-")),
        ("disposition", _simple("disposition", ns, *disposition)),
        (
            "persistentDisposition",
            _nested(
                "persistentDisposition",
                [("set", _simple("set", ns, *disposition)), ("unset", _simple("unset", ns, *disposition))],
                ns,
            ),
        ),
        ("readPoint", _nested("readPoint", [("id", _simple("id", ns))], ns)),
        ("bizLocation", _nested("bizLocation", [("id", _simple("id", ns))], ns)),
        ("sensorElementList", _sensor_list(ns)),
    ]


def _tail(event: Mapping[str, Any], ordered: set[str], ns: Mapping[str, str]) -> str:
    """Everything else, each field as one string, all sorted together (reference implementation: the party and
    transaction lists, ILMD and top-level user extensions)."""
    parts: list[str] = []
    for name, value in event.items():
        if name in ordered or name in IGNORED_EVENT_FIELDS or name in _IGNORED_EVERYWHERE:
            continue
        if name in _TYPE_PREFIX:
            item = name[:-4]
            terms = (
                vocab.BIZ_TRANSACTION_TYPES
                if name == "bizTransactionList"
                else vocab.SOURCE_DESTINATION_TYPES
            )
            if value:
                parts.append(_typed_pairs(name, value, item, terms, ns))
            continue
        parts.extend(_generic(_key(name, ns), value, ns))
    return "".join(sorted(parts))


def prehash_string(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The canonical pre-hash string of one EPCIS 2.0 JSON-LD event (rules 1-21).

    ``namespaces`` are the prefixes of the enclosing document's ``@context`` (see ``document_namespaces``);
    an event's own ``@context`` adds to them. ``eventID``, ``recordTime`` and ``errorDeclaration`` are left out.
    """
    ns = _namespaces_of(event.get("@context"), dict(namespaces or STANDARD_PREFIXES))
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EpcisHashError("event: 'type' (ObjectEvent, AggregationEvent, …) is missing")
    order = _event_order(ns)
    head = "".join(render(event[name]) for name, render in order if name in event)
    return f"eventType={event_type}" + head + _tail(event, {name for name, _ in order}, ns)


def event_hash(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The EPCIS Event Hash ID of ``event``: ``ni:///sha-256;<hex>?ver=CBV2.0`` (rules 22-24, RFC 6920)."""
    digest = hashlib.sha256(prehash_string(event, namespaces).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={CBV_VERSION}"


def with_event_id(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of ``event`` whose ``eventID`` is its hash (computed without any eventID it carried), placed after
    ``type`` as EPCIS documents usually write it."""
    body = {k: v for k, v in event.items() if k != "eventID"}
    identified = {"type": body.pop("type", None), "eventID": event_hash(event, namespaces)}
    return {**{k: v for k, v in identified.items() if v is not None}, **body}


def document_with_event_ids(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an EPCISDocument with every event's ``eventID`` set to its hash (issue 12 item 2)."""
    namespaces = document_namespaces(document)
    body = dict(document.get("epcisBody") or {})
    body["eventList"] = [with_event_id(e, namespaces) for e in body.get("eventList", [])]
    return {**document, "epcisBody": body}


def is_event_hash(text: str) -> bool:
    """Whether ``text`` has the shape of an EPCIS event hash ID with SHA-256."""
    return re.fullmatch(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV\d+\.\d+(\.\d+)?", text) is not None
