import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp_bridge.settings")
application = get_asgi_application()

from integration.checks import refuse_published_credentials  # noqa: E402 - needs the apps loaded

refuse_published_credentials()
