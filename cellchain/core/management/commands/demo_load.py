"""`cellchain demo_load`: migrate-independent demo data loader (idempotent)."""

from django.core.management.base import BaseCommand

from cellchain.accounts.world import DEMO_PASSWORD, PEOPLE
from cellchain.core.demo_loader import load_demo


class Command(BaseCommand):
    help = "Load the demo world and each context's demo records (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        load_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Sign in at http://127.0.0.1:8000/ with password '{DEMO_PASSWORD}' as one of:")
        for username, printed_name, site, roles, _q in PEOPLE:
            self.stdout.write(
                f"  {username:<18} {', '.join(str(r) for r in roles):<22} {site:<14} {printed_name}"
            )
