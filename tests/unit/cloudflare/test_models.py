"""The named instance types inferred back from the sizes the API answers with."""

from __future__ import annotations

import pytest

from lunora_operator.cloudflare import CustomInstanceType
from lunora_operator.cloudflare.models import INSTANCE_TYPES, infer_instance_type


@pytest.mark.parametrize("name", list(INSTANCE_TYPES))
def test_every_named_type_is_inferred_from_its_sizes(name: str) -> None:
    size = INSTANCE_TYPES[name]
    assert infer_instance_type(size.vcpu, size.memory_mib, size.disk_mb) == name


def test_sizes_of_no_named_type_are_a_custom_type() -> None:
    assert infer_instance_type(3, 9216, 18000) == CustomInstanceType(3, 9216, 18000)
    assert infer_instance_type(None, 9216, 18000) is None
