"""GS1 EPCIS 2.0 JSON-LD for custody events (REGULATORY item 41; T-10.4, G-4): the builder lives in
`cellchain.domain.epcis_events` (pure, shared with the exchange messages of issue 12 item 2); this module keeps
the names the journeys and logistics contexts import."""

from cellchain.domain.epcis_events import (
    CELLCHAIN_NAMESPACE,
    DEFAULT_ID_BASE,
    EPCIS_CONTEXT,
    EPCIS_NAMESPACES,
    AggregationEvent,
    EpcisAction,
    EpcisEvent,
    EpcisIds,
    EventCommon,
    ObjectEvent,
    TransformationEvent,
    epcis_document,
    epcis_offset,
    epcis_time,
    event_json,
    identified,
)

__all__ = [
    "CELLCHAIN_NAMESPACE",
    "DEFAULT_ID_BASE",
    "EPCIS_CONTEXT",
    "EPCIS_NAMESPACES",
    "AggregationEvent",
    "EpcisAction",
    "EpcisEvent",
    "EpcisIds",
    "EventCommon",
    "ObjectEvent",
    "TransformationEvent",
    "epcis_document",
    "epcis_offset",
    "epcis_time",
    "event_json",
    "identified",
]
