"""Plain Django views outside the admin and the API: VTEX's order hook, the shopper's DANFE link."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from integration.services.errors import ServiceError
from integration.services.hook import hook_receive
from integration.services.nfe import nfe_danfe_for_link


@csrf_exempt  # VTEX posts here; the secret header authenticates it
@require_POST
def vtex_hook(request: HttpRequest) -> JsonResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        body = request.body
    except RequestDataTooBig:  # Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE): JSON, not its HTML page
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse({"error": f"The body is larger than the limit of {limit} bytes."}, status=413)
    answer = hook_receive(raw_body=body, headers=headers)
    return JsonResponse(answer.body, status=answer.status)


@require_GET
def nfe_danfe(request: HttpRequest, token: str) -> HttpResponse:
    """The DANFE behind a signed, expiring link (VTEX's invoiceUrl: the shopper opens it from "My
    orders" without a login). It shows that PDF and nothing else; a bad link is a plain 404."""
    try:
        pdf = nfe_danfe_for_link(token)
    except ServiceError:
        raise Http404 from None
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="DANFE.pdf"'
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    return response
