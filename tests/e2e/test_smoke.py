import pytest

pytestmark = pytest.mark.browser


def test_signing_in_lands_on_the_home_page(signed_in, live_server, shot):
    page = signed_in
    assert page.get_by_role("heading", name="Open incidents").is_visible()
    assert page.get_by_role("link", name="File an incident").first.is_visible()
    shot("home-empty")
