from cellchain.ledger.tests.conftest import tamper  # noqa: F401  (raw SQL behind the application's back)
