"""The inbox partners deliver to: POST /api/exchange/inbox (issue 12 item 2).

Not the API's user authentication: a partner presents the bearer token we gave it, checked by its hash in
`inbox.inbox_receive`; the endpoint is therefore public at the user level and every refusal is quarantined.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from cellchain.core.permissions import PUBLIC, requires
from cellchain.exchange.inbox import inbox_receive

router = Router(tags=["exchange"])


class InboxReceiptOut(Schema):
    status: str
    event_id: str
    witness: dict[str, Any] | None = None


class RefusalOut(Schema):
    message: str
    code: str
    detail: dict[str, Any]


@router.post(
    "/inbox",
    auth=None,
    response={
        200: InboxReceiptOut,
        400: RefusalOut,
        401: RefusalOut,
        403: RefusalOut,
        409: RefusalOut,
        413: RefusalOut,
        422: RefusalOut,
    },
    summary="Receive a signed message from a partner installation",
)
@requires(PUBLIC)
def inbox(request: HttpRequest) -> Any:
    """Body: a cellchain-exchange/1 envelope. 200: applied (or already received); 4xx: refused and quarantined."""
    receipt = inbox_receive(raw=request.body, authorization=request.headers.get("Authorization", ""))
    return Status(receipt.status, receipt.payload)
