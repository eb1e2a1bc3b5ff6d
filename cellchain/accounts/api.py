"""JSON API: who am I, API tokens (issue 2 items 6, 9)."""

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from cellchain.accounts import selectors, services
from cellchain.accounts.models import ApiToken
from cellchain.core.permissions import SIGNED_IN, requires

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    printed_name: str
    organisation: str | None
    organisation_kind: str | None
    site: str | None
    roles: list[str]


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(TokenOut):
    token: str


@router.get("/me", response=MeOut)
@requires(SIGNED_IN)
def me(request: HttpRequest) -> MeOut:
    user = request.user
    return MeOut(
        username=user.username,
        printed_name=user.printed_name,  # type: ignore[union-attr]
        organisation=user.organisation.code if user.organisation else None,  # type: ignore[union-attr]
        organisation_kind=user.organisation.kind if user.organisation else None,  # type: ignore[union-attr]
        site=user.site.code if user.site else None,  # type: ignore[union-attr]
        roles=sorted(user.current_roles()),  # type: ignore[union-attr]
    )


@router.get("/tokens", response=list[TokenOut])
@requires(SIGNED_IN)
def token_list(request: HttpRequest) -> list[ApiToken]:
    return list(selectors.tokens_of(request.user))  # type: ignore[arg-type]


@router.post("/tokens", response={201: NewTokenOut})
@requires(SIGNED_IN)
def token_create(request: HttpRequest, payload: TokenIn) -> tuple[int, dict[str, object]]:
    token, raw = services.api_token_create(actor=request.user, name=payload.name)  # type: ignore[arg-type]
    return 201, {**TokenOut.from_orm(token).dict(), "token": raw}


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
@requires(SIGNED_IN)
def token_revoke(request: HttpRequest, token_id: int) -> ApiToken:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    return services.api_token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
