"""Plain Django views outside the admin and the API: VTEX's order hook."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.services.hook import hook_receive


@csrf_exempt  # VTEX posts here; the secret header authenticates it
@require_POST
def vtex_hook(request: HttpRequest) -> JsonResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    answer = hook_receive(raw_body=request.body, headers=headers)
    return JsonResponse(answer.body, status=answer.status)
