"""Public notices (公示) at /notices/: public pages first, then the officers' pages."""

from __future__ import annotations

from django.urls import path

from wotu.reviews import views_notice as views

app_name = "notices"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("<int:pk>/", views.notice_detail, name="detail"),
    path("<int:pk>/notice.xlsx", views.notice_download, {"fmt": "xlsx"}, name="xlsx"),
    path("<int:pk>/notice.pdf", views.notice_download, {"fmt": "pdf"}, name="pdf"),
    path("<int:pk>/decision/", views.decision_detail, name="decision"),
    path("manage/", views.notice_manage, name="manage"),
    path("publish/<int:call_pk>/", views.notice_publish, name="publish"),
    path("<int:pk>/objections/", views.objection_list, name="objections"),
    path("objections/<int:pk>/", views.objection_detail, name="objection"),
    path("<int:pk>/decide/", views.decision_record, name="decide"),
]
