"""Settings of the network tests' installations (issue 12 item 4): the product's, with the test suite's fast
password hasher (the demo signs many records, each re-authenticating with argon2) and e-mail kept in memory."""

from cellchain.project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
