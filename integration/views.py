"""Plain Django views outside the admin and the API: VTEX's order hook."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.services.hook import hook_receive


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
