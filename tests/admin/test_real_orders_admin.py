"""The order page and the add-invoice page for real-shaped VTEX orders (issue 15): a changed order's
changes (what, when, why, value) and item quantities, the replacing order, and the form refusing a
removed item with the service's words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.models import Order
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.vtex.mapping import order_data_from_vtex
from tests.admin.test_invoicing_admin import invoice_post, user_client
from tests.vtex import load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """Outbox rows are written; nothing is sent."""


@pytest.fixture
def back_office(django_user_model):
    return user_client(django_user_model, "back-office", groups=["Back office"])


def store(raw: dict) -> Order:
    (outcome,) = orders_store_from_vtex(fetched=[FetchedOrder(raw=raw, data=order_data_from_vtex(raw))])
    return outcome.order


def order_page(client, order: Order) -> str:
    response = client.get(reverse("admin:integration_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_order_page_shows_each_change_and_what_is_left_of_each_item(back_office):
    order = store(load_fixture("order_changed"))

    page = order_page(back_office, order)

    assert "Changes at VTEX" in page
    assert "removed: 1 × Tênis de Corrida Leve 42" in page
    assert "Tênis sem estoque no centro de distribuição" in page
    assert "-R$224.90" in page
    assert '<span class="changed-quantity">1 → 0</span>' in page
    assert '<span class="changed-quantity">3 → 2</span>' in page
    # the timeline
    assert "Order changed at VTEX: Changed at VTEX (05/15/2024 9:10 a.m.): removed 1 ×" in page


def test_the_order_page_notes_gifts_kits_assembly_options_and_weights(back_office):
    gift_page = order_page(back_office, store(load_fixture("order_gift")))
    kit_page = order_page(back_office, store(load_fixture("order_kit")))
    weight_page = order_page(back_office, store(load_fixture("order_weight")))

    assert "gift" in gift_page
    assert "kit of 2 components; attachment: Mensagem de presente" in kit_page
    assert "assembly option of item 0 (assembly_product_warranty)" in kit_page
    assert "each unit is 0.35 kg" in weight_page


def test_a_replaced_order_links_to_the_order_replacing_it_and_says_why_it_takes_no_invoice(back_office):
    old = store(load_fixture("order_replaced"))
    new = store(load_fixture("order_replacing"))

    page = order_page(back_office, old)

    new_url = reverse("admin:integration_order_change", args=[new.pk])
    assert f'Replaced by order <a href="{new_url}">1438270519856-02</a>' in page
    assert "VTEX replaced this order with order 1438270519856-02; invoice that order instead." in page
    assert 'id="add-invoice"' not in page


def test_the_invoice_form_refuses_a_removed_item_beside_its_quantity(back_office):
    order = store(load_fixture("order_changed"))

    response = invoice_post(back_office, order, item_1="1")

    assert response.status_code == 200
    assert not order.invoices.exists()
    assert response.context["form"].errors["item_1"] == [
        "“Tênis de Corrida Leve 42” was removed from the order at VTEX (the order was changed); it cannot be invoiced."
    ]
    # the form offers what is left: the removed shoes at 0, two socks of three
    form = back_office.get(reverse("admin:integration_order_add_invoice", args=[order.pk])).context["form"]
    assert [form[f"item_{index}"].value() for index in range(3)] == [2, 0, 2]
