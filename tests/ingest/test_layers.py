"""Layer attribution: base image or the image's own layers, only where the history shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.ingest import read_report
from gate.ingest.layers import attribute, base_boundary
from gate.model import Finding, FindingKind, FixState, Image, Layer, Scan, Severity
from gate.policy.engine import evaluate
from gate.policy.matching import matches
from gate.policy.schema import Match, load_policy
from tests.conftest import GENERATED, REAL, TODAY, need_shared, write_policy

BUILDAH = [
    ("COPY dir:base in /", False, ""),
    ("ENV PATH=/bin", True, "FROM a6a69b077903"),
    ("COPY dir:app in /srv", False, "FROM localhost/base:1"),
    ("COPY dir:www in /www", False, "FROM 93dd166b709d"),
    ("USER app", True, "FROM 5e588b89ec1e"),
]
BUILDKIT = [
    ("ADD file:abc in /", False, ""),
    ('CMD ["/bin/sh"]', True, ""),
    ("RUN apk add curl", False, "buildkit.dockerfile.v0"),
    ("COPY app /app", False, "buildkit.dockerfile.v0"),
]


@pytest.mark.parametrize(
    ("history", "layers", "expected"),
    [
        (BUILDAH, 3, 1),
        (BUILDAH, 0, 1),  # layer count unknown: not checked
        (BUILDAH, 4, None),  # the history does not match the layers
        (BUILDKIT, 3, 1),
        ([("COPY x /", False, "buildkit.dockerfile.v0")] * 2, 2, None),  # all BuildKit: cannot tell
        ([("ADD file:x in /", False, ""), ('CMD ["sh"]', True, "")], 1, None),  # classic builder: no evidence
        ([("COPY x /", False, "FROM scratch"), ("COPY y /", False, "FROM 93dd166b709d")], 2, 0),
        ([], 0, None),
        # the last named FROM wins: the base's own build history comes first
        (
            [("ADD f /", False, ""), ("RUN x", False, "FROM debian:12"), ("COPY a /", False, "FROM base:1")],
            3,
            2,
        ),
    ],
)
def test_base_boundary(history: list[tuple[str, bool, str]], layers: int, expected: int | None) -> None:
    assert base_boundary(history, layers) == expected


def finding(diff_id: str = "", digest: str = "") -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-1",
        severity=Severity.HIGH,
        layer=Layer(diff_id=diff_id, digest=digest) if diff_id or digest else None,
        scanner="trivy",
    )


def image_scan(*findings: Finding, base_layers: int | None = 1) -> Scan:
    image = Image(
        config_known=True, diff_ids=("sha256:aa", "sha256:bb", "sha256:cc"), base_layers=base_layers
    )
    return Scan(
        source="r.json", scanner="trivy", artifact_type="container_image", image=image, findings=findings
    )


def test_findings_are_placed_by_their_layer() -> None:
    scan = attribute(image_scan(finding("sha256:aa"), finding("sha256:CC"), finding("sha256:zz"), finding()))
    assert [f.origin for f in scan.findings] == ["base", "own", None, None]
    assert scan.warnings == ()


def test_grype_layer_ids_are_matched_as_diff_ids() -> None:
    scan = attribute(image_scan(finding(digest="sha256:bb")))
    assert scan.findings[0].origin == "own"


def test_unknown_boundary_leaves_origin_unknown_and_layer_rules_say_so(tmp_path: Path) -> None:
    scan = attribute(image_scan(finding("sha256:aa"), base_layers=None))
    assert scan.findings[0].origin is None
    assert scan.warnings == ()
    policy_file = write_policy(tmp_path, 'version = 1\n[[rules]]\nid = "own"\nmatch = { layer = "own" }\n')
    [image] = evaluate(scan, load_policy(str(policy_file)), today=TODAY).images
    assert any(
        "1 finding's layer is not known" in note and "count them as own" in note for note in image.notes
    )
    # without a `layer` rule nobody needs to hear about it
    [image] = evaluate(scan, load_policy("builtin:default"), today=TODAY).images
    assert not any("layer attribution" in note for note in image.notes)


def test_generated_secret_in_layer_files_is_the_images_own() -> None:
    need_shared()
    for name in ("trivy.docker-archive.json", "trivy.oci.json"):
        path = GENERATED / "c-root-explicit-secret-files" / name
        scan = attribute(read_report(str(path), path.read_bytes()))
        [secret] = [f for f in scan.findings if f.kind is FindingKind.SECRET]
        assert (secret.id, secret.origin) == ("private-key", "own")
        config_findings = [f for f in scan.findings if f.kind is FindingKind.MISCONFIG]
        assert config_findings and all(
            f.origin is None for f in config_findings
        )  # about the config, no layer


def test_real_buildkit_report_splits_base_and_own() -> None:
    need_shared()
    path = REAL / "trivy" / "ci-steadybit-shop--steadybit-orders.json"
    scan = attribute(read_report(str(path), path.read_bytes()))
    assert scan.image is not None and scan.image.base_layers == 33
    origins = sorted(str(f.origin) for f in scan.findings if f.layer is not None)
    assert origins == ["base", "base", "own", "own"]


@pytest.mark.parametrize(
    ("name", "base_layers"),
    [("grype-explain--keycloak-test.json", 1), ("defectdojo-grype--many_vulns3.json", 5)],
)
def test_real_grype_reports_attribute_by_layer_id(name: str, base_layers: int) -> None:
    need_shared()
    path: Path = REAL / "grype" / name
    scan = attribute(read_report(str(path), path.read_bytes()))
    assert scan.image is not None and scan.image.base_layers == base_layers
    assert all(f.origin in ("base", "own") for f in scan.findings if f.layer is not None)


def test_layer_rules_treat_unknown_origin_as_own() -> None:
    own, base, unknown = (
        finding().model_copy(update={"origin": "own"}),
        finding().model_copy(update={"origin": "base"}),
        finding(),
    )
    rule_own, rule_base = Match(layer="own"), Match(layer="base")
    assert [matches(f, rule_own, today=TODAY) for f in (own, base, unknown)] == [True, False, True]
    assert [matches(f, rule_base, today=TODAY) for f in (own, base, unknown)] == [False, True, False]


def test_violation_says_update_the_base_image_or_fix_your_layers(tmp_path: Path) -> None:
    fixed = {"fix_state": FixState.FIXED, "fixed_versions": ("2",)}
    scan = image_scan(
        finding("sha256:aa").model_copy(update={**fixed, "id": "CVE-BASE"}),
        finding("sha256:cc").model_copy(update={**fixed, "id": "CVE-OWN"}),
    )
    decision = evaluate(attribute(scan), load_policy("builtin:default"), today=TODAY)
    messages = {v.id: v.message for v in decision.violations}
    assert "update the base image" in messages["CVE-BASE"]
    assert "fix your layers" in messages["CVE-OWN"]


def test_policy_can_fail_own_and_warn_base(tmp_path: Path) -> None:
    policy_file = write_policy(
        tmp_path,
        'version = 1\n[[rules]]\nid = "own"\naction = "fail"\nmatch = { layer = "own" }\n'
        '[[rules]]\nid = "base"\naction = "warn"\nmatch = { layer = "base" }\n',
    )
    policy = load_policy(str(policy_file))
    base_only = attribute(image_scan(finding("sha256:aa")))
    assert evaluate(base_only, policy, today=TODAY).verdict.value == "warn"
    unknown = attribute(image_scan(finding("sha256:aa"), base_layers=None))
    assert evaluate(unknown, policy, today=TODAY).verdict.value == "fail"
