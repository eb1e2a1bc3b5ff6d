from django.urls import path

from cellchain.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("login/mfa/", views.sign_in_mfa, name="login_mfa"),
    path("logout/", views.sign_out, name="logout"),
    path("me/", views.profile, name="profile"),
    path("me/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("me/totp/", views.totp_setup, name="totp_setup"),
    path("people/", views.people, name="people"),
]
