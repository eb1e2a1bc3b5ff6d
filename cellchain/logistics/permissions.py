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
    # Hospital storage (issue 6 item 5): the site's own stock; stocking also needs the "stock" qualification.
    "logistics.storage_view": {*_RECEIVERS, Role.PHYSICIAN, Role.AUDITOR, Role.SITE_ADMIN},
    "logistics.stock": set(_RECEIVERS),
    "logistics.storage_admin": {Role.PHARMACIST, Role.SITE_ADMIN},
    # T-8.1.2-e: the receivers who stock units also reserve storage for a shipment before it is handed over
    # (the service also needs the "stock" qualification and the destination site).
    "logistics.reserve": set(_RECEIVERS),
    # T-8.1.2-c, T-10.12: the register of temperature-monitoring devices and their calibration.
    "logistics.devices": {Role.PHARMACIST, Role.SITE_ADMIN},
}
