"""Strings of other packages that staff read in the admin, put in this project's catalog.

Our catalog (LOCALE_PATHS) is read before any package's, so an entry here gives:

- django-q2's task pages in pt-BR: django-q2 ships no pt_BR catalog, so its lists ("Successful
  tasks", "Scheduled tasks"), columns and help texts showed in English in a Portuguese admin;
- Django's own changelist titles in better Brazilian Portuguese: Django's catalog has "Selecione
  %s para modificar" ("Selecione pedido para modificar", without the article Portuguese needs);
  ours uses the infinitive of a heading, as Django's own "Adicionar %s" and "Modificar %s" do.

`makemessages` extracts these gettext_noop() strings like any other; nothing calls this module's
names (importing it registers nothing). The list of django-q2's strings is that of the version in
pyproject.toml (its models.py and admin.py); a string it adds later shows in English until listed.
"""

from django.utils.translation import gettext_noop

DJANGO_Q_STRINGS = (
    gettext_noop("success"),
    gettext_noop("last_run"),
    gettext_noop("Function"),
    gettext_noop("Task id"),
    gettext_noop("Name"),
    gettext_noop("Group"),
    gettext_noop("Arguments"),
    gettext_noop("Keyword arguments"),
    gettext_noop("Queue options"),
    gettext_noop("Task"),
    gettext_noop("Tasks"),
    gettext_noop("Successful task"),
    gettext_noop("Successful tasks"),
    gettext_noop("Failed task"),
    gettext_noop("Failed tasks"),
    gettext_noop("Scheduled task"),
    gettext_noop("Scheduled tasks"),
    gettext_noop("Queued task"),
    gettext_noop("Queued tasks"),
    gettext_noop("32-character task identifier."),
    gettext_noop("Optional human-readable name for lookup and display."),
    gettext_noop("Dotted import path to the callable, e.g. myapp.tasks.job."),
    gettext_noop("Hook"),
    gettext_noop("Optional dotted path to a callback that receives the task result."),
    gettext_noop("Pickled positional arguments (tuple)."),
    gettext_noop("Pickled keyword arguments (dict)."),
    gettext_noop("Result"),
    gettext_noop("Pickled return value or error payload."),
    gettext_noop("Optional group id to aggregate related tasks."),
    gettext_noop("Cluster"),
    gettext_noop("Name of the cluster that executed this task."),
    gettext_noop("Started at"),
    gettext_noop("When the worker started executing the task."),
    gettext_noop("Stopped at"),
    gettext_noop("When the worker finished (success or failure)."),
    gettext_noop("Success"),
    gettext_noop("False if the task raised an exception or timed out."),
    gettext_noop("Attempt count"),
    gettext_noop("How many times execution was attempted."),
    gettext_noop("Optional label to identify this schedule in the admin."),
    gettext_noop("e.g. module.tasks.function"),
    gettext_noop("e.g. module.tasks.result_function"),
    gettext_noop("e.g. 1, 2, 'John'"),
    gettext_noop("e.g. x=1, y=2, name='John'"),
    gettext_noop("Once"),
    gettext_noop("Minutes"),
    gettext_noop("Hourly"),
    gettext_noop("Daily"),
    gettext_noop("Weekly"),
    gettext_noop("Biweekly"),
    gettext_noop("Monthly"),
    gettext_noop("Bimonthly"),
    gettext_noop("Quarterly"),
    gettext_noop("Yearly"),
    gettext_noop("Cron"),
    gettext_noop("Schedule Type"),
    gettext_noop("How often this task should be enqueued."),
    gettext_noop("Number of minutes for the Minutes type"),
    gettext_noop("Repeats"),
    gettext_noop("n = n times, -1 = forever"),
    gettext_noop("Next Run"),
    gettext_noop("When this schedule runs next (stored in UTC)."),
    gettext_noop("Cron expression"),
    gettext_noop("Last task id"),
    gettext_noop("Id of the last task spawned from this schedule (read-only)."),
    gettext_noop("Name of the target cluster"),
    gettext_noop("Intended date kwarg"),
    gettext_noop("Name of kwarg to pass intended schedule date"),
    gettext_noop("Cluster key"),
    gettext_noop("Payload"),
    gettext_noop("Signed serialized task package (do not edit manually)."),
    gettext_noop("Lock until"),
    gettext_noop("Prevent any cluster from pulling until"),
    gettext_noop("Resubmit selected tasks to queue"),
    gettext_noop("Time Taken"),
    gettext_noop("Short result"),
)

DJANGO_ADMIN_TITLES = (
    gettext_noop("Select %s to change"),
    gettext_noop("Select %s to view"),
)
