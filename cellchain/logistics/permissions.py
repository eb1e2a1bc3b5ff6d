"""Role grants of the logistics context (see cellchain/core/permissions.py).

The manufacturer's logistics staff pack and hand over shipments; the hospital's receivers (pharmacy,
coordinators; qualified for "receipt", T-8.1.2-a) scan arrivals and inspect receipts.
"""

from cellchain.accounts.roles import Role

_RECEIVERS = {Role.PHARMACIST, Role.COORDINATOR, Role.NURSE}

GRANTS: dict[str, set[str]] = {
    "logistics.view": {
        Role.LOGISTICS,
        Role.QA,
        Role.PRODUCTION_OPERATOR,
        *_RECEIVERS,
        Role.PHYSICIAN,
        Role.AUDITOR,
    },
    "logistics.ship": {Role.LOGISTICS},
    "logistics.import_readings": {Role.LOGISTICS, *_RECEIVERS},
    "logistics.receive": set(_RECEIVERS),
}
