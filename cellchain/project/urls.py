"""URL wiring: one include per context, the API under /api/, Django's language switch."""

from django.urls import include, path
from django.views.i18n import set_language

from cellchain.project.api import api

urlpatterns = [
    path("", include("cellchain.core.urls")),
    path("accounts/", include("cellchain.accounts.urls")),
    path("ledger/", include("cellchain.ledger.urls")),
    path("quality/", include("cellchain.quality.urls")),
    path("journeys/", include("cellchain.journeys.urls")),
    path("manufacturing/", include("cellchain.manufacturing.urls")),
    path("qc/", include("cellchain.qc.urls")),
    path("logistics/", include("cellchain.logistics.urls")),
    path("clinic/", include("cellchain.clinic.urls")),
    path("assessment/", include("cellchain.assessment.urls")),
    path("metrics/", include("cellchain.metrics.urls")),
    path("dossiers/", include("cellchain.dossiers.urls")),
    path("reviews/", include("cellchain.reviews.urls")),
    path("studies/", include("cellchain.studies.urls")),
    path("capa/", include("cellchain.capa.urls")),
    path("environment/", include("cellchain.environment.urls")),
    path("exchange/", include("cellchain.exchange.urls")),
    path("records/", include("cellchain.records.urls")),
    path("documents/", include("cellchain.documents.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/", api.urls),
]

handler400 = "cellchain.core.views.bad_request"
handler403 = "cellchain.core.views.permission_denied"
handler404 = "cellchain.core.views.page_not_found"
handler500 = "cellchain.core.views.server_error"
