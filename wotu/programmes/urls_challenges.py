"""Challenge tasks (揭榜挂帅) at /challenges/: public pages, then officers' and applicants'."""

from __future__ import annotations

from django.urls import path

from wotu.programmes import views_challenges as views

app_name = "challenges"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("manage/", views.task_manage, name="manage"),
    path("post/", views.task_post, name="post"),
    path("<int:pk>/bids/", views.bid_list, name="bids"),
    path("<int:pk>/select/", views.task_select, name="select"),
    path("<int:pk>/bid/", views.bid_create, name="bid_create"),
    path("mine/", views.bids_mine, name="mine"),
    path("bids/<int:pk>/", views.bid_detail, name="bid"),
    path("bids/<int:pk>/plan/", views.plan_set, name="plan"),
    path("milestones/<int:pk>/submit/", views.milestone_submit, name="milestone_submit"),
    path("milestones/<int:pk>/decide/", views.milestone_decide, name="milestone_decide"),
]
