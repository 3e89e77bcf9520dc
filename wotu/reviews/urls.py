"""The review screens under /reviews/: officers' pool, stages and conflicts; the expert portal."""

from __future__ import annotations

from django.urls import path

from wotu.reviews import views

app_name = "reviews"

urlpatterns = [
    # officers: the expert pool
    path("experts/", views.expert_list, name="experts"),
    path("experts/new/", views.expert_new, name="expert_new"),
    path("experts/<int:pk>/", views.expert_edit, name="expert"),
    path("experts/<int:pk>/admit/", views.expert_admit, name="expert_admit"),
    path("experts/organisations/", views.organisation_suggest, name="organisation_suggest"),
    # officers: stages and conflicts
    path("stages/", views.stage_list, name="stages"),
    path("stages/<int:pk>/", views.stage_detail, name="stage"),
    path("stages/<int:pk>/assign/", views.stage_assign, name="stage_assign"),
    path("stages/<int:pk>/close/", views.stage_close, name="stage_close"),
    path("stages/<int:pk>/conflicts/", views.stage_conflicts, name="conflicts"),
    path("conflicts/<int:pk>/dismiss/", views.conflict_dismiss, name="conflict_dismiss"),
    # experts: their own assignments
    path("mine/", views.my_assignments, name="mine"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path(
        "assignments/<int:pk>/application/",
        views.assignment_application,
        name="assignment_application",
    ),
    path(
        "assignments/<int:pk>/files/<int:file_pk>/",
        views.assignment_file,
        name="assignment_file",
    ),
    path("assignments/<int:pk>/score/", views.assignment_score, name="assignment_score"),
]
