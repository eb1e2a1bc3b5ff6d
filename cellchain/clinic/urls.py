"""Clinic pages under /clinic/."""

from django.urls import path

from cellchain.clinic.views import bedside, course, governance, preparation, safety

app_name = "clinic"
urlpatterns = [
    path("", course.home, name="home"),
    path("course/new/", course.course_new, name="course_new"),
    path("course/<int:course_id>/", course.course, name="course"),
    path("course/<int:course_id>/lymphodepletion/", course.lymphodepletion, name="lymphodepletion"),
    path("course/<int:course_id>/unit/", course.unit_admit, name="unit_admit"),
    path("course/<int:course_id>/bedside/", bedside.bedside, name="bedside"),
    path("course/<int:course_id>/monitoring/<int:day>/", bedside.monitoring_day, name="monitoring_day"),
    path("course/<int:course_id>/adverse-event/", safety.event_new, name="event_new"),
    path("course/<int:course_id>/follow-up/<str:key>/", safety.follow_up_visit, name="follow_up_visit"),
    path("unit/<int:unit_id>/", preparation.unit, name="unit"),
    path("unit/<int:unit_id>/thaw/", preparation.thaw, name="thaw"),
    path("unit/<int:unit_id>/prepare/", preparation.preparation_start, name="preparation_start"),
    path("unit/<int:unit_id>/dilute/", preparation.dilute, name="dilute"),
    path("unit/<int:unit_id>/acknowledge/", preparation.acknowledge, name="acknowledge"),
    path("bedside/<int:check_id>/verify/", bedside.bedside_verify, name="bedside_verify"),
    path("bedside/<int:check_id>/infusion/", bedside.infusion_new, name="infusion_new"),
    path("infusion/<int:infusion_id>/", bedside.infusion, name="infusion"),
    path("infusion/<int:infusion_id>/end/", bedside.infusion_end, name="infusion_end"),
    path("infusion/<int:infusion_id>/vitals/", bedside.vitals, name="vitals"),
    path(
        "infusion/<int:infusion_id>/observation/close/", bedside.observation_close, name="observation_close"
    ),
    path("grade/", safety.grade_preview, name="grade_preview"),
    path("adverse-event/<int:event_id>/", safety.event, name="event"),
    path("adverse-event/<int:event_id>/update/", safety.event_regrade, name="event_regrade"),
    path("duty/<int:duty_id>/sent/", safety.duty_sent, name="duty_sent"),
    path("reporting/", safety.reporting, name="reporting"),
    path("follow-up/", safety.follow_up, name="follow_up"),
    path("deviations/", governance.deviations, name="deviations"),
    path("deviations/new/", governance.deviation_new, name="deviation_new"),
    path("deviations/<int:report_id>/", governance.deviation, name="deviation"),
    path("deviations/<int:report_id>/print/", governance.deviation_print, name="deviation_print"),
    path("risk-plans/", governance.risk_plans, name="risk_plans"),
    path("risk-plans/new/", governance.risk_plan_new, name="risk_plan_new"),
    path("risk-plans/<int:plan_id>/", governance.risk_plan, name="risk_plan"),
    path("products/", governance.products, name="products"),
    path("products/agreement/", governance.agreement_new, name="agreement_new"),
    path("products/adopt/<int:version_id>/", governance.product_adopt, name="product_adopt"),
    path("unit/<int:unit_id>/overtime/", governance.unit_overtime, name="unit_overtime"),
]
