from __future__ import annotations

from django.urls import path

from wotu.policies import views, views_runs

app_name = "policies"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("explain/", views.explain_start, name="explain_start"),
    path("runs/", views_runs.run_list, name="runs"),
    path("runs/new/", views_runs.run_start, name="run_start"),
    path("runs/<int:pk>/", views_runs.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views_runs.run_progress, name="run_progress"),
    path("runs/<int:pk>/export.xlsx", views_runs.run_export, name="run_export"),
    path("runs/<int:baseline>/compare/<int:scenario>/", views_runs.run_compare, name="compare"),
    path("<str:policy_id>/", views.policy_detail, name="detail"),
    path("<str:policy_id>/explain/", views.explanation, name="explain"),
]
