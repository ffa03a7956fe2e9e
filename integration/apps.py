from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_schedules(sender, **kwargs) -> None:
    from integration.services.schedules import schedules_ensure

    schedules_ensure()


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = _("VTEX integration")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integration import checks  # noqa: F401 - registers the system checks (Django's idiom)

        # After every migrate the schedules match the settings (idempotent).
        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="integration-schedules")
