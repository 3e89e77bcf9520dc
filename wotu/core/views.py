"""Public pages, signing in and out, and each role's home page."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from wotu.core import permissions
from wotu.organisations import selectors


def home(request: HttpRequest) -> HttpResponse:
    """The public landing page for visitors; the role's home page once signed in."""
    if not request.user.is_authenticated:
        return render(request, "core/landing.html")
    context: dict[str, object] = {}
    if permissions.sees_whole_registry(request.user):
        organisations = selectors.organisation_list_for_user(user=request.user)
        context["organisation_count"] = organisations.count()
        context["latest_year"] = selectors.latest_fact_year()
    return render(request, "core/home.html", context)


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True


login = LoginView.as_view()
logout = auth_views.LogoutView.as_view()
