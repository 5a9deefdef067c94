"""The two deep-translator internals workers/translation/providers.py relies on.

deep-translator has no setting for a request timeout or a base URL. The providers
therefore replace each provider module's ``requests`` (whose ``get``/``post`` its classes
call, without a timeout) by one that bounds every call, and set a translator's
``_base_url`` to the configured endpoint. These tests fail when upstream changes either
(then re-check providers.py and the version range pinned in pyproject.toml); the
behaviour itself (a dripping server cut off at the deadline, the endpoint used) is
tested against the stand-ins in tests/integration/test_translation.py.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re

import pytest
from deep_translator.base import BaseTranslator

from workers.translation.providers import _BOUNDED, _SPECS, DeepTranslatorProvider


def test_the_version_is_one_these_were_checked_against():
    major, minor = (int(part) for part in importlib.metadata.version("deep-translator").split(".")[:2])
    assert (major, minor) == (1, 11)


@pytest.mark.parametrize("name", sorted(_SPECS))
def test_every_request_of_a_provider_goes_through_its_modules_requests_get_or_post(name):
    module = importlib.import_module(f"deep_translator.{_SPECS[name].module}")
    source = inspect.getsource(module)
    assert re.search(r"^import requests$", source, re.MULTILINE)
    assert not re.search(r"from requests import|requests\.(Session|session|request|api)\b", source)
    calls = re.findall(r"\brequests\.([a-z_]+)\(", source)
    assert calls and set(calls) <= {"get", "post"}, calls  # what _BoundedRequests bounds


@pytest.mark.parametrize("name", sorted(_SPECS))
def test_a_providers_requests_go_to_the_base_url_attribute_its_constructor_sets(name):
    assert "self._base_url = base_url" in inspect.getsource(BaseTranslator.__init__)
    cls = getattr(importlib.import_module(f"deep_translator.{_SPECS[name].module}"), _SPECS[name].cls)
    assert issubclass(cls, BaseTranslator)
    assert "self._base_url" in inspect.getsource(cls)


def test_a_provider_built_here_has_the_bounded_requests_and_the_endpoint():
    provider = DeepTranslatorProvider("google", endpoint="http://127.0.0.1:9/m")
    assert importlib.import_module("deep_translator.google").requests is _BOUNDED
    assert provider._translator("en", "de")._base_url == "http://127.0.0.1:9/m"
