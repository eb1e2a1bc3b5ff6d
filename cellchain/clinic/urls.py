"""Clinic pages under /clinic/."""

from django.urls import path

from cellchain.clinic import views

app_name = "clinic"
urlpatterns = [
    path("", views.home, name="home"),
    path("course/new/", views.course_new, name="course_new"),
    path("course/<int:course_id>/", views.course, name="course"),
    path("course/<int:course_id>/lymphodepletion/", views.lymphodepletion, name="lymphodepletion"),
    path("course/<int:course_id>/unit/", views.unit_admit, name="unit_admit"),
    path("course/<int:course_id>/bedside/", views.bedside, name="bedside"),
    path("course/<int:course_id>/monitoring/<int:day>/", views.monitoring_day, name="monitoring_day"),
    path("course/<int:course_id>/adverse-event/", views.event_new, name="event_new"),
    path("course/<int:course_id>/follow-up/<str:key>/", views.follow_up_visit, name="follow_up_visit"),
    path("unit/<int:unit_id>/", views.unit, name="unit"),
    path("unit/<int:unit_id>/thaw/", views.thaw, name="thaw"),
    path("unit/<int:unit_id>/prepare/", views.preparation_start, name="preparation_start"),
    path("unit/<int:unit_id>/dilute/", views.dilute, name="dilute"),
    path("unit/<int:unit_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("bedside/<int:check_id>/verify/", views.bedside_verify, name="bedside_verify"),
    path("bedside/<int:check_id>/infusion/", views.infusion_new, name="infusion_new"),
    path("infusion/<int:infusion_id>/", views.infusion, name="infusion"),
    path("infusion/<int:infusion_id>/end/", views.infusion_end, name="infusion_end"),
    path("infusion/<int:infusion_id>/vitals/", views.vitals, name="vitals"),
    path("infusion/<int:infusion_id>/observation/close/", views.observation_close, name="observation_close"),
    path("grade/", views.grade_preview, name="grade_preview"),
    path("adverse-event/<int:event_id>/", views.event, name="event"),
    path("adverse-event/<int:event_id>/update/", views.event_regrade, name="event_regrade"),
    path("duty/<int:duty_id>/sent/", views.duty_sent, name="duty_sent"),
    path("reporting/", views.reporting, name="reporting"),
    path("follow-up/", views.follow_up, name="follow_up"),
    path("deviations/", views.deviations, name="deviations"),
    path("deviations/new/", views.deviation_new, name="deviation_new"),
    path("deviations/<int:report_id>/", views.deviation, name="deviation"),
    path("deviations/<int:report_id>/print/", views.deviation_print, name="deviation_print"),
    path("risk-plans/", views.risk_plans, name="risk_plans"),
    path("risk-plans/new/", views.risk_plan_new, name="risk_plan_new"),
    path("risk-plans/<int:plan_id>/", views.risk_plan, name="risk_plan"),
    path("products/", views.products, name="products"),
    path("products/agreement/", views.agreement_new, name="agreement_new"),
    path("products/adopt/<int:version_id>/", views.product_adopt, name="product_adopt"),
    path("unit/<int:unit_id>/overtime/", views.unit_overtime, name="unit_overtime"),
]
