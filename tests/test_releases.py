"""Releases: what the template has shipped stays put, and updating from the previous
release lands exactly where a fresh copy does."""

import hashlib

# Every revision the template has ever shipped, with the SHA-256 of its rendered
# file. Users' databases record these revision ids: never edit one, add a new one.
SHIPPED_REVISIONS = {
    "2026_11_24_0000-6ed9f93df750_create_account_table.py": (
        "cefd963da0e088936abb17078603c3099fdfe4e43f789b49de7498ecb39b0e7e"
    ),
    "2026_11_24_0001-89feb189b99d_seed_accounts.py": (
        "5390c36f21eed086b02f33a34ece5b755bfe1957cae3c79caf4b697a9128773d"
    ),
}


def test_shipped_revisions_never_change(rendered):
    versions = rendered(seed_data=True) / "my_program" / "migrations" / "versions"
    actual = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in versions.iterdir()
    }
    changed = {name for name in SHIPPED_REVISIONS if actual.get(name) != SHIPPED_REVISIONS[name]}
    assert not changed, f"shipped revisions are immutable, but these changed: {changed}"
    assert set(actual) == set(SHIPPED_REVISIONS), "record each new shipped revision here"
