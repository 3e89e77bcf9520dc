from __future__ import annotations

from django.urls import path

from wotu.organisations import views

app_name = "organisations"

urlpatterns = [
    path("", views.registry_list, name="list"),
    path("import/", views.facts_import, name="import"),
    path("export/", views.facts_export, name="export"),
    path("<int:pk>/", views.organisation_detail, name="detail"),
    path("<int:pk>/facts/add/", views.facts_add, name="facts_add"),
    path("<int:pk>/facts/<int:year>/edit/", views.facts_edit, name="facts_edit"),
]
