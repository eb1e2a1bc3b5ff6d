from datetime import datetime, timedelta, timezone

import pytest

from cellchain.domain.identity import LabelPayload, ProductCode, coi_issue, din_issue
from cellchain.labels import UnitLabel

CST = timezone(timedelta(hours=8))


@pytest.fixture
def payload() -> LabelPayload:
    return LabelPayload(coi_issue("W1234", 2025, 7), din_issue("W1234", 2025, 42), ProductCode("S1395V00"))


@pytest.fixture
def unit_label(payload: LabelPayload) -> UnitLabel:
    return UnitLabel(
        payload=payload,
        product_name_en="Apheresis mononuclear cells",
        product_name_zh="单采外周血单个核细胞",
        journey_pseudonym="J-7Q2K",
        collection_site="Site ^A~B_C",
        collected_at=datetime(2025, 3, 1, 9, 30, tzinfo=CST),
        volume_ml=180,
        storage_en="2-8 C",
        storage_zh="2-8 摄氏度",
    )
