"""The detector's configuration (gateway.yaml ``detection``) as the detectors' own types.

>>> from gateway.config import DetectionSettings
>>> options(DetectionSettings()).licenses
(LicenseFormat(state='CA', layout='Lddddddd'),)
>>> options(DetectionSettings()).custom is None   # no custom type: Presidio is not imported
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from detectors.driver_license import LicenseFormat
from detectors.utility_account import AccountFormat
from gateway.config import CustomTypeSettings, DetectionSettings, RecognizerSettings

if TYPE_CHECKING:
    from detectors.custom import CustomType, CustomTypes


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    formats: tuple[AccountFormat, ...]
    licenses: tuple[LicenseFormat, ...]
    custom: CustomTypes | None


def options(d: DetectionSettings) -> DetectorOptions:
    """Account and licence formats, and the enabled custom types (None when there are none)."""
    formats = d.account_formats()
    licenses = tuple(LicenseFormat(f.state, f.layout) for f in d.driver_licenses)
    return DetectorOptions(formats, licenses, custom_types(d.custom_types))


def custom_types(settings: tuple[CustomTypeSettings, ...]) -> CustomTypes | None:
    """The enabled custom types, ready to run; None (and no Presidio import) when none is enabled."""
    specs = [spec for entry in settings if entry.enabled for spec in _specs(entry)]
    if not specs:
        return None
    # Here, not at the top: detectors.custom imports presidio-analyzer, loaded only for a custom type.
    from detectors.custom import CustomTypes  # noqa: PLC0415
    return CustomTypes(tuple(specs))


def _specs(entry: CustomTypeSettings) -> list[CustomType]:
    from detectors.custom import CustomType  # noqa: PLC0415 - presidio-analyzer, as above
    if entry.presidio_yaml is not None:
        return [_from_presidio(r) for r in entry.presidio_yaml.recognizers if r.enabled]
    assert entry.entity is not None  # validated: entity, or presidio_yaml
    patterns = tuple((p.name, p.regex, p.score) for p in entry.patterns)
    if entry.regex is not None:
        patterns = ((entry.entity.lower(), entry.regex, entry.score), *patterns)
    return [CustomType(entry.entity, patterns, entry.context, entry.deny_list, 1.0, entry.check, entry.modulus,
                       entry.weights, f"Custom:{entry.entity}")]


def _from_presidio(r: RecognizerSettings) -> CustomType:
    from detectors.custom import CustomType  # noqa: PLC0415 - presidio-analyzer, as above
    return CustomType(r.supported_entity, tuple((p.name, p.regex, p.score) for p in r.patterns), r.context,
                      r.deny_list, r.deny_list_score, name=r.name or f"Custom:{r.supported_entity}")
