"""Settings of the network tests' installations (issue 12 item 4): the product's, with the test suite's fast
password hasher (the demo signs many records, each re-authenticating with argon2), e-mail kept in memory, and
the test-only message kind `test.network.note` (tests/network/kinds.py) that the robustness tests and the
exchange bench send."""

from cellchain.project.settings import *  # noqa: F403
from cellchain.project.settings import INSTALLED_APPS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
INSTALLED_APPS = [*INSTALLED_APPS, "tests.network.kinds.NetworkTestKindsConfig"]
