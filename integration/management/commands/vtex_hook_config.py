from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.infra.vtex_client import vtex_client
from integration.services.hook import hook_config_payload
from integration.vtex import VtexError


class Command(BaseCommand):
    help = "Register erp-bridge's order hook at VTEX (VTEX pings the URL, which must answer 200)."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="Public https URL of /vtex/hook/ on this installation.")
        parser.add_argument(
            "--allow-http", action="store_true", help="Accept a plain http URL (the sandbox only; VTEX wants https)."
        )
        parser.add_argument("--delete", action="store_true", help="Remove the hook configuration instead.")

    def handle(self, *args, url: str, allow_http: bool, delete: bool, **options):
        client = vtex_client()
        try:
            if delete:
                client.delete_hook_config()
                self.stdout.write(self.style.SUCCESS("Hook configuration removed at VTEX."))
                return
            if not settings.VTEX_HOOK_SECRET:
                raise CommandError("Set VTEX_HOOK_SECRET first: VTEX will send it in every notification.")
            scheme = urlsplit(url).scheme
            if scheme != "https" and not (allow_http and scheme == "http"):
                raise CommandError("The hook URL must start with https:// (VTEX accepts only https).")
            client.save_hook_config(hook_config_payload(url=url))
        except VtexError as exc:
            raise CommandError(f"VTEX refused the hook configuration: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Hook registered: VTEX will POST order changes to {url} "
                f"with the {settings.VTEX_HOOK_SECRET_HEADER} header."
            )
        )
