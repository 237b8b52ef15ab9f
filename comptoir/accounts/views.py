"""Sign in (rate-limited), sign out and password change for agents."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from comptoir.core import ratelimit


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, asking for the email address agents sign in with."""

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.label = _("Email address")
        field.widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email", "maxlength": 254}
        )
        self.fields["password"].label = _("Password")

    def clean_username(self) -> str:
        # Accounts are stored lower-cased; "Alice@Example.com" is the same person.
        return (self.cleaned_data.get("username") or "").strip().lower()


def client_ip(request: HttpRequest) -> str:
    """The peer address; a deployment behind a proxy must set REMOTE_ADDR from it."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _login_keys(request: HttpRequest) -> list[ratelimit.RateKey]:
    keys: list[ratelimit.RateKey] = [("login-ip", client_ip(request))]
    email = str(request.POST.get("username", "")).strip().lower()
    if email:
        keys.append(("login-email", email))
    return keys


class LoginView(auth_views.LoginView):
    """Login with at most LOGIN_RATE_LIMIT failures per window, per IP and per address."""

    template_name = "accounts/login.html"
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if ratelimit.is_limited(_login_keys(request), limit=settings.LOGIN_RATE_LIMIT):
            # Past the limit the password is not even checked: guessing gains nothing.
            form = self.get_form_class()(
                request, initial={"username": request.POST.get("username", "")}
            )
            context = self.get_context_data(
                form=form,
                rate_limited=True,
                retry_minutes=math.ceil(settings.LOGIN_RATE_WINDOW_S / 60),
            )
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(settings.LOGIN_RATE_WINDOW_S)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        # The address's counter restarts after a success; the IP's does not, so owning one
        # account does not buy more guesses on others.
        email = form.cleaned_data.get("username", "")
        if email:
            ratelimit.reset([("login-email", email)])
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        ratelimit.record_failure(_login_keys(self.request), window_s=settings.LOGIN_RATE_WINDOW_S)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, as in Django 5)."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
