"""One language at a time (issue 19): timeline entries stored as a kind and parameters and shown
in the reader's language; VTEX's statuses named as VTEX's admin names them, the API string beside;
payment groups, document types, actors, django-q2's pages and Django's titles in pt-BR."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from integration.models import Order, OrderEvent, OutboxMessage
from integration.selectors.labels import VTEX_STATUS_NAMES, actor_text, vtex_status_text
from integration.selectors.timeline import RENDERERS, event_text, render_event
from integration.services.cancellation import cancellation_request_create
from integration.services.orders import order_update_local_fields
from integration.services.tracking import TrackingEventInput, invoice_set_tracking, tracking_events_add
from integration.vtex.statuses import VtexStatus
from tests.factories import make_acknowledged_order, make_event, make_invoice, make_payment

pytestmark = pytest.mark.django_db

#: English words that must not show in a pt-BR entry (the mix the issue saw).
ENGLISH = re.compile(r"\b(invoice|entered|tracking|sent|value|order|changed|status|from|Output|Canceled)\b")


def pt(event: OrderEvent) -> str:
    with translation.override("pt-br"):
        return event_text(event)


def en(event: OrderEvent) -> str:
    with translation.override("en"):
        return event_text(event)


def page(client, url: str, language: str) -> str:
    with translation.override(translation.get_language()):  # the middleware activates the request's
        response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ---- the timeline ---------------------------------------------------------------------------------------


def test_an_entered_invoice_reads_in_one_language_and_its_english_text_is_stored():
    # given
    order = make_acknowledged_order()

    # when
    invoice = make_invoice(order, quantities={0: 1}, number="2002")

    # then
    event = order.events.get(kind=OrderEvent.Kind.INVOICE_ADDED)
    assert event.params["invoice"] == "2002" and event.params["invoice_kind"] == "output"
    assert event.message == en(event)  # the English text, for the event list's search
    assert en(event).startswith("Output (sale) invoice 2002 entered: 1 × ")
    reais, cents = divmod(invoice.value_cents, 100)  # under R$ 1.000: no thousands separator
    assert en(event).endswith(f"; value R${reais}.{cents:02d}.")
    assert pt(event).startswith("Nota fiscal 2002 lançada, tipo Saída (venda): 1 × ")
    assert pt(event).endswith(f"; valor R$\xa0{reais},{cents:02d}.")
    assert not ENGLISH.search(pt(event)), pt(event)


def test_every_kind_written_by_the_services_has_parameters_and_reads_in_portuguese(admin_user):
    # given: one order through the services that write timeline entries
    order = make_acknowledged_order()
    invoice = make_invoice(order, quantities={0: 2, 1: 1, 2: 3}, number="NF-9")
    invoice_set_tracking(invoice=invoice, tracking_number="BR1BR", courier="Correios")
    tracking_events_add(
        invoice=invoice,
        events=[TrackingEventInput(occurred_at=timezone.now(), description="Saiu para entrega")],
    )
    order_update_local_fields(order=order, changes={"notes": "ligar antes"}, actor=admin_user)
    other = make_acknowledged_order()
    cancellation_request_create(order=other, reason="Cliente desistiu", actor=admin_user)

    # then
    events = list(OrderEvent.objects.filter(order__in=[order, other]))
    assert {event.kind for event in events} >= {
        OrderEvent.Kind.INVOICE_ADDED,
        OrderEvent.Kind.TRACKING_ADDED,
        OrderEvent.Kind.EDITED,
        OrderEvent.Kind.CANCELLATION_REQUESTED,
    }
    for event in events:
        assert event.params is not None, event.kind
        assert event.message == en(event)
        assert pt(event) != en(event), event.kind
        assert not ENGLISH.search(pt(event)), (event.kind, pt(event))
    edited = next(event for event in events if event.kind == OrderEvent.Kind.EDITED)
    with translation.override("pt-br"):
        notes = str(Order._meta.get_field("notes").verbose_name)
    assert pt(edited) == f"Alterado: {notes}."


def test_every_kind_has_a_renderer():
    assert set(RENDERERS) == set(OrderEvent.Kind.values)


@pytest.mark.parametrize(
    ("kind", "params", "portuguese"),
    [
        (
            OrderEvent.Kind.STATUS_CHANGED,
            {"from": "ready-for-handling", "to": "handling"},
            "O status na VTEX mudou de Pronto para manuseio (ready-for-handling) para Preparando entrega (handling).",
        ),
        (
            OrderEvent.Kind.IMPORTED,
            {"status": "ready-for-handling"},
            "Importado da VTEX no status Pronto para manuseio (ready-for-handling).",
        ),
        (
            OrderEvent.Kind.SENT,
            {"outbox_kind": "tracking", "invoice": "NF-1", "receipt": "r-1", "note": "", "vtex_status": ""},
            "Código de rastreio da nota fiscal NF-1: enviado à VTEX. A VTEX aceitou (recibo r-1).",
        ),
        (
            OrderEvent.Kind.ACK_FAILED,
            {"outbox_kind": "start_handling", "invoice": "", "error": "HTTP 500", "attempts": 5, "gave_up": True},
            "Início do manuseio: não aceito pela VTEX; desistimos após 5 tentativas: HTTP 500",
        ),
        (
            OrderEvent.Kind.DELIVERED,
            {"invoice": "NF-1", "events": 2, "delivered": True},
            "Nota fiscal NF-1: 2 eventos de rastreio e a entrega lançados.",
        ),
        (OrderEvent.Kind.REFRESHED, {"changed": False}, "Atualizado a partir da VTEX: nada tinha mudado."),
        (OrderEvent.Kind.REPLACED, {"other_order_id": "2-01", "direction": "replaces"}, "Substitui o pedido 2-01."),
    ],
)
def test_renderers_in_portuguese(kind, params, portuguese):
    with translation.override("pt-br"):
        assert render_event(kind, params) == portuguese


def test_old_entries_without_parameters_show_their_stored_text():
    order = make_acknowledged_order()
    old = make_event(order, kind=OrderEvent.Kind.NOTE, message="Texto antigo, como foi gravado.")
    broken = make_event(order, kind=OrderEvent.Kind.IMPORTED, message="stored", params={"unexpected": 1})

    assert old.params is None
    assert pt(old) == en(old) == "Texto antigo, como foi gravado."
    assert pt(broken) == "stored"  # parameters this version cannot read: the stored text


def test_the_order_page_timeline_and_status_are_in_portuguese(admin_client):
    order = make_acknowledged_order(vtex_status=VtexStatus.HANDLING)
    make_invoice(order, quantities={0: 1}, number="2002")
    make_payment(order, payment_system_name="Visa", group="creditCard", status="approved")

    html = page(admin_client, reverse("admin:integration_order_change", args=[order.pk]), "pt-BR")

    assert "Nota fiscal lançada: Nota fiscal 2002 lançada, tipo Saída (venda)" in html
    assert "Output (sale)" not in html
    assert "Preparando entrega (handling)" in html
    assert "Cartão de crédito (creditCard)" in html
    assert "Aprovado (approved)" in html
    english = page(admin_client, reverse("admin:integration_order_change", args=[order.pk]), "en")
    assert "Invoice entered: Output (sale) invoice 2002 entered" in english
    assert "Handling shipping (handling)" in english


def test_the_event_list_shows_entries_and_actors_in_the_readers_language(admin_client):
    order = make_acknowledged_order()
    make_invoice(order, quantities={0: 1}, number="2002")
    OrderEvent.objects.filter(order=order).update(actor=None, actor_label="system")

    html = page(admin_client, reverse("admin:integration_orderevent_changelist"), "pt-BR")

    assert "Nota fiscal 2002 lançada" in html
    assert ">sistema<" in html
    assert "?actor_label=intake" in html  # the actor filter, from a fixed list
    assert actor_text("intake") == "intake"  # outside a request: English


# ---- VTEX statuses and the admin's other codes ----------------------------------------------------------


def test_every_vtex_status_has_its_admin_name_in_both_languages():
    assert set(VTEX_STATUS_NAMES) == set(VtexStatus)
    with translation.override("pt-br"):
        assert vtex_status_text("handling") == "Preparando entrega (handling)"
        assert vtex_status_text("ready-for-handling") == "Pronto para manuseio (ready-for-handling)"
        assert vtex_status_text("invoice") == "Verificando nota fiscal (invoice)"
        assert vtex_status_text("cancel") == "Cancelando (cancel)"
        assert vtex_status_text("some-new-status") == "some-new-status"  # VTEX added one: as it came
        assert vtex_status_text("") == "-"
        names = {str(VTEX_STATUS_NAMES[status]) for status in VtexStatus}
    with translation.override("en"):
        assert vtex_status_text("handling") == "Handling shipping (handling)"
        english = {str(VTEX_STATUS_NAMES[status]) for status in VtexStatus}
    assert not names & english - {"Cluster"}  # every name translated


def test_the_order_list_filter_names_vtex_statuses(admin_client):
    make_acknowledged_order()
    html = page(admin_client, reverse("admin:integration_order_changelist"), "pt-BR")
    assert "Preparando entrega (handling)" in html
    assert "Pronto para manuseio (ready-for-handling)" in html


def test_background_task_pages_and_django_titles_are_in_portuguese(admin_client):
    index = page(admin_client, reverse("admin:index"), "pt-BR")
    assert "Tarefas em segundo plano" in index
    assert "Tarefas concluídas" in index and "Tarefas agendadas" in index

    orders = page(admin_client, reverse("admin:integration_order_changelist"), "pt-BR")
    assert "Selecionar pedido para modificar" in orders
    assert "Selecione pedido para modificar" not in orders

    successes = page(admin_client, reverse("admin:django_q_success_changelist"), "pt-BR")
    assert "Tarefa concluída" in successes


def test_a_start_handling_retry_on_request_is_one_language():
    order = make_acknowledged_order()
    event = OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.SEND_RETRY,
        message="",
        params={"outbox_kind": OutboxMessage.Kind.START_HANDLING, "retry": "now"},
    )
    assert pt(event) == "Início do manuseio: enviado agora, a pedido."
    assert en(event) == "Start-handling: sent now on request."
