"""The back office and the API speak the reader's language: pt-BR when the browser (or the API
client) asks for it, or when the admin's switch chose it; English otherwise (LANGUAGE_CODE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import Order
from tests.factories import make_acknowledged_order, make_call, make_event, make_order

pytestmark = pytest.mark.django_db

PT_BR = {"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9,en;q=0.5"}
NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """Saving an invoice or a cancellation writes an outbox row; no task is queued to send it."""


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[order.pk])


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ---- the admin in pt-BR ------------------------------------------------------------------------------------


def test_the_order_list_speaks_portuguese_to_a_brazilian_browser(admin_client):
    # given
    make_order(sequence="5021", total_cents=123_456, vtex_status="ready-for-handling")

    # when
    content = page(admin_client.get(reverse("admin:integration_order_changelist"), **PT_BR))

    # then
    assert '<html lang="pt-br"' in content
    for text in (
        "Pedidos",  # the model's plural, in the title and the breadcrumbs
        "Cliente",  # a column
        "Recebido",  # the state badge ("Received (VTEX not yet told)" cut at the parenthesis)
        "Início do manuseio:",  # the start-handling line of the status column
        f"R${NBSP}1.234,56",  # money as Brazilians write it
        "Por necessidade de atenção",  # a filter (Django says "By …")
        "Atualizar da VTEX",  # an action
        "Painel de saúde",  # the link to the health dashboard
    ):
        assert text in content, text
    assert "Received (VTEX not yet told)" not in content
    assert "R$1,234.56" not in content


def test_the_order_page_speaks_portuguese(admin_client):
    # given
    order = make_acknowledged_order()
    make_event(order, message="Pedido importado.")
    make_call(order.order_id)

    # when
    content = page(admin_client.get(order_url(order), **PT_BR))

    # then
    for text in (
        "Modificar pedido",  # Django's own admin, in pt-BR
        "Endereço de entrega",  # a fieldset
        "As correções são mantidas",  # its description
        "Observações internas",
        "Atualizar da VTEX",  # the buttons
        "Adicionar nota fiscal",
        "Solicitar cancelamento",
        "Atividade recente",  # the activity box, still under the (translated) status fieldset
        "Linha do tempo",  # the timeline
        "Chamada à VTEX",
        "preço de venda",  # an inline column (capitalised by the template or not)
        f"R${NBSP}174,90",
        "Em manuseio",  # the state's label
    ):
        assert text.lower() in content.lower(), text
    # "Recent activity" sits right under the status fieldset, found by its class, not its name.
    assert content.index('id="recent-activity"') < content.index("Totais")


def test_an_invoice_form_error_is_shown_in_portuguese_beside_its_field(admin_client):
    # given
    order = make_acknowledged_order()
    url = reverse("admin:integration_order_add_invoice", args=[order.pk])
    form = admin_client.get(url, **PT_BR).context["form"]
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    data.update(number="", issued_at=timezone.localtime().strftime("%Y-%m-%dT%H:%M"), item_0="9", _save="1")

    # when
    response = admin_client.post(url, data, **PT_BR)

    # then
    content = page(response)
    assert "Corrija os erros abaixo. Nada foi salvo." in content
    assert "O número da nota fiscal é obrigatório." in response.context["form"].errors["number"]
    assert response.context["form"].errors["item_0"] == ["Só restam 2 de “Camiseta azul M” a faturar."]
    assert "Número da nota fiscal" in content  # the label
    assert "quantidade inválida" in content  # the refused line's note
    assert not order.invoices.exists()


def test_an_amount_typed_the_english_way_is_read_too(admin_client):
    # given: an amount copied from an English page ("R$1,234.56")
    order = make_acknowledged_order()
    url = reverse("admin:integration_order_add_invoice", args=[order.pk])
    form = admin_client.get(url).context["form"]
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    data.update(number="NF-9", issued_at=timezone.localtime().strftime("%Y-%m-%dT%H:%M"), _preview="1")
    data.update(item_0="1", item_1="0", item_2="0", value="R$1,000.00")

    # when
    response = admin_client.post(url, data)

    # then: read as a thousand reais (100000 cents), which the service's rule then refuses; the
    # parser had nothing to say about the shape
    assert response.context["form"].errors["value"] == [
        "Items remain to be invoiced, so this invoice must be below the 17490 cents left of the order total."
    ]


def test_the_cancellation_confirmation_page_speaks_portuguese(admin_client):
    order = make_acknowledged_order()

    content = page(admin_client.get(reverse("admin:integration_order_request_cancellation", args=[order.pk]), **PT_BR))

    for text in (
        "Solicitar cancelamento na VTEX",  # the title
        "A VTEX será solicitada a cancelar este pedido.",
        "Isto não pode ser desfeito",
        "Pode ser cancelado?",
        "Motivo",  # the form's label
        "Por que o pedido é cancelado: no mínimo",  # its help text, with the limits filled in
        "Sim, pedir à VTEX que cancele",
        "Não, voltar",
        f"R${NBSP}174,90",
    ):
        assert text in content, text


def test_a_message_after_an_action_is_in_portuguese(admin_client):
    order = make_acknowledged_order()
    url = reverse("admin:integration_order_request_cancellation", args=[order.pk])

    response = admin_client.post(url, {"confirm": "1", "reason": "Cliente desistiu da compra"}, **PT_BR)

    assert response.status_code == 302
    texts = [message.message for message in get_messages(response.wsgi_request)]
    assert texts == [f"{order.order_id}: cancelamento solicitado; será enviado à VTEX."]


# ---- the language: browser, switch, default ------------------------------------------------------------------


def test_without_accept_language_the_admin_stays_in_english(admin_client):
    make_order(total_cents=123_456)

    content = page(admin_client.get(reverse("admin:integration_order_changelist")))

    assert '<html lang="en"' in content
    assert "Received" in content and "R$1,234.56" in content
    assert "Recebido" not in content


def test_a_language_not_offered_falls_back_to_english(admin_client):
    content = page(admin_client.get(reverse("admin:integration_order_changelist"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr"))

    assert '<html lang="en"' in content


def test_the_header_has_a_labelled_language_switch_posting_to_set_language(admin_client):
    content = page(admin_client.get(reverse("admin:index"), **PT_BR))

    assert f'<form id="language-switch" action="{reverse("set_language")}" method="post">' in content
    assert '<label for="language-switch-select">Idioma</label>' in content
    assert '<select name="language" id="language-switch-select">' in content
    assert '<option value="pt-br" lang="pt-br" selected>Português Brasileiro</option>' in content
    assert '<option value="en" lang="en">English</option>' in content
    assert '<button type="submit">Mudar idioma</button>' in content
    assert 'name="next" value="/admin/"' in content


def test_the_switch_changes_the_language_of_the_next_pages(admin_client):
    # given: an English browser
    make_order()
    assert "Cliente" not in page(admin_client.get(reverse("admin:integration_order_changelist")))

    # when: the switch asks for Portuguese
    response = admin_client.post(reverse("set_language"), {"language": "pt-br", "next": "/admin/integration/order/"})

    # then: back to the page, which is now in Portuguese, whatever the browser says
    assert response.status_code == 302 and response["Location"] == "/admin/integration/order/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "pt-br"
    content = page(admin_client.get(reverse("admin:integration_order_changelist"), HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="pt-br"' in content and "Cliente" in content

    # and back to English
    admin_client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert '<html lang="en"' in page(admin_client.get(reverse("admin:index"), **PT_BR))


def test_the_switch_only_goes_back_to_this_site_and_needs_the_csrf_token(admin_client, client):
    # An address elsewhere in "next" is not followed (no open redirect through the switch).
    response = admin_client.post(reverse("set_language"), {"language": "pt-br", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"

    # A post from another site (no CSRF token) changes nothing.
    guarded = type(client)(enforce_csrf_checks=True)
    refused = guarded.post(reverse("set_language"), {"language": "pt-br", "next": "/admin/"})
    assert refused.status_code == 403 and settings.LANGUAGE_COOKIE_NAME not in refused.cookies

    # An unknown language is ignored.
    ignored = admin_client.post(reverse("set_language"), {"language": "xx", "next": "/admin/"})
    assert ignored.cookies.get(settings.LANGUAGE_COOKIE_NAME) is None


def test_the_login_page_follows_the_browser_too(client):
    content = page(client.get(reverse("admin:login"), **PT_BR))

    assert "Idioma" in content and "Acessar" in content  # the switch, and Django's own "Log in"


# ---- the API ---------------------------------------------------------------------------------------------------


@pytest.fixture
def api(django_user_model) -> APIClient:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="erp")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="integration", codename__in=("view_order", "enter_invoices"))
    )
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_an_api_error_follows_accept_language_and_keeps_its_code(api):
    portuguese = api.get("/api/v1/orders/nope-01/", **PT_BR)
    english = api.get("/api/v1/orders/nope-01/")

    assert portuguese.status_code == english.status_code == 404
    assert portuguese["Content-Language"] == "pt-br"
    assert portuguese.json() == {
        "error": {"code": "not_found", "message": "Não existe o pedido 'nope-01'.", "fields": {}}
    }
    assert english.json()["error"] == {"code": "not_found", "message": "There is no order 'nope-01'.", "fields": {}}


def test_an_api_validation_error_names_the_field_in_portuguese(api):
    order = make_acknowledged_order()
    body = {
        "number": "NF-1",
        "issued_at": (timezone.now() + timedelta(days=2)).isoformat(),
        "items": [{"item_index": 0, "quantity": 1}],
    }

    response = api.post(f"/api/v1/orders/{order.order_id}/invoices/", body, format="json", **PT_BR)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    # the service's rule, summarized as a sentence (the admin's "Corrija os erros abaixo." has nothing below it here)
    assert error["message"] == "Requisição inválida: issued_at: A data de emissão não pode estar no futuro."
    assert error["fields"]["issued_at"] == ["A data de emissão não pode estar no futuro."]

    body["number"] = "NF/1"
    error = api.post(f"/api/v1/orders/{order.order_id}/invoices/", body, format="json", **PT_BR).json()["error"]
    assert error["fields"]["number"] == [
        "O número da nota fiscal não pode conter '/' (a VTEX o usa em seus endereços) nem ser só pontos."
    ]


def test_drf_s_own_errors_are_translated_too(api):
    order = make_acknowledged_order()

    response = api.post(f"/api/v1/orders/{order.order_id}/invoices/", {"items": []}, format="json", **PT_BR)

    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith("Requisição inválida: ")
    assert error["fields"]["number"] == ["Este campo é obrigatório."]  # DRF's pt_BR catalog


def test_the_timeline_stores_english_whatever_the_language_of_the_request(admin_client):
    """Stored messages are read by everyone later, like log lines: the pt-BR request that saved the
    invoice gets its answer in Portuguese, the timeline entry's text is stored in English; it is
    shown from its kind and parameters in the reader's language (issue 19: no "Nota fiscal lançada:
    Output (sale) invoice…")."""
    # given
    order = make_acknowledged_order()
    url = reverse("admin:integration_order_add_invoice", args=[order.pk])
    form = admin_client.get(url, **PT_BR).context["form"]
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    data.update(number="NF-7", issued_at=timezone.localtime().strftime("%Y-%m-%dT%H:%M"), _save="1")

    # when
    response = admin_client.post(url, data, **PT_BR)

    # then
    assert response.status_code == 302
    assert [message.message for message in get_messages(response.wsgi_request)] == [
        "Nota fiscal NF-7 salva; ela será enviada à VTEX."
    ]
    event = order.events.get(kind="invoice_added")
    assert event.message.startswith("Output (sale) invoice NF-7 entered: 2 × Camiseta azul M")
    shown = page(admin_client.get(order_url(order), **PT_BR))
    assert "Nota fiscal lançada: Nota fiscal NF-7 lançada, tipo Saída (venda): 2 × Camiseta azul M" in shown
    assert "Output (sale)" not in shown


def test_the_health_dashboard_and_the_index_headline_speak_portuguese(admin_client):
    make_order(start_handling="failed", start_handling_error="HTTP 500")

    dashboard = page(admin_client.get(reverse("admin:integration_health"), **PT_BR))
    index = page(admin_client.get(reverse("admin:index"), **PT_BR))

    for text in (
        "Saúde da integração",
        "Pedidos parados",
        "Falha no início do manuseio",  # a stuck kind, from the services
        "Faturado, sem rastreio após 3 dias",  # with its threshold
        "Pedidos por hora, últimos 7 dias",
        "Recebido",  # a series of the chart
    ):
        assert text in dashboard, text
    assert "Saúde da integração" in index
    assert "1 pedido parado" in index  # the headline, with its plural rule
