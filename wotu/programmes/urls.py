from __future__ import annotations

from django.urls import path

from wotu.programmes import views

app_name = "programmes"

urlpatterns = [
    # officers
    path("", views.programme_list, name="list"),
    path("new/", views.programme_create, name="programme_create"),
    path("<int:pk>/", views.programme_detail, name="programme"),
    path("<int:pk>/calls/new/", views.call_create, name="call_create"),
    path("calls/<int:pk>/", views.call_detail, name="call"),
    path("calls/<int:pk>/open/", views.call_open, name="call_open"),
    path("calls/<int:pk>/close/", views.call_close, name="call_close"),
    path("applications/<int:pk>/check/", views.formal_check, name="check"),
    # applicants
    path("open/", views.calls_open, name="open"),
    path("mine/", views.my_applications, name="mine"),
    path("calls/<int:pk>/apply/", views.application_new, name="apply"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/edit/", views.application_edit, name="edit"),
    path("applications/<int:pk>/withdraw/", views.application_withdraw, name="withdraw"),
    path("applications/<int:pk>/files/<slug:field>/", views.attachment_download, name="file"),
]
