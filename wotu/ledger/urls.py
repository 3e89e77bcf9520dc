from __future__ import annotations

from django.urls import path

from wotu.ledger import views

app_name = "ledger"

urlpatterns = [
    # ledger readers (bureau and finance officers)
    path("", views.dashboard, name="dashboard"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/new/", views.batch_prepare, name="batch_prepare"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/submit/", views.batch_submit, name="batch_submit"),
    path("batches/<int:pk>/approve/", views.batch_approve, name="batch_approve"),
    path("batches/<int:pk>/export/", views.batch_export, name="batch_export"),
    path("batches/<int:pk>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("batches/<int:pk>/file/", views.batch_file, name="batch_file"),
    path("batches/<int:pk>/return/", views.batch_return, name="batch_return"),
    path("fx/", views.fx_rates, name="fx"),
    # readers and applicants (their own organisation's)
    path("commitments/", views.commitment_list, name="commitments"),
    path("commitments/<int:pk>/", views.commitment_detail, name="commitment"),
    path("commitments/<int:pk>/cancel/", views.commitment_cancel, name="commitment_cancel"),
    path("statements/", views.statement_index, name="statements"),
    path("statements/<int:pk>/", views.statement, name="statement"),
    # the public
    path("open-data/", views.open_data, name="open_data"),
    path("open-data/grants.json", views.open_data_json, name="open_data_json"),
    path("open-data/awards.xlsx", views.open_data_xlsx, name="open_data_xlsx"),
]
