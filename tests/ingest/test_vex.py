"""VEX: the real OpenVEX documents (checked against the OpenVEX schema), a CycloneDX VEX, and what they waive."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from gate.errors import InputError
from gate.ingest import read_report
from gate.ingest.purl import Purl
from gate.ingest.vex import VexDocument, apply_vex, check_dates, read_vex
from gate.model import Finding, FindingKind, FixState, Image, Package, Scan, Severity, Suppression, VexStatus
from gate.policy.decision import Verdict
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report.record import record
from tests.conftest import REAL, SCHEMAS, TESTDATA, TODAY, need_shared, write_policy
from tests.ingest.helpers import openvex

OCI_VEX = "trivy--oci.openvex.json"
TRIVY_VEX = "trivy--trivy.openvex.json"
GITEA = "analysis-model--grype-report-wo-description.json"
CDX = TESTDATA / "vex" / "cyclonedx-vex.json"


def _real_vex(name: str) -> tuple[dict[str, Any], VexDocument]:
    need_shared()
    path = REAL / "other" / name
    return json.loads(path.read_bytes()), read_vex(str(path), path.read_bytes())


def _openvex_validator() -> jsonschema.Draft202012Validator:
    need_shared()
    schema = json.loads((SCHEMAS / "openvex_json_schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _cdx_validator() -> jsonschema.Draft7Validator:
    need_shared()
    folder = SCHEMAS / "cyclonedx"
    schemas = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (f"http://cyclonedx.org/schema/{name}", Resource.from_contents(schema))
        for name, schema in schemas.items()
    )
    return jsonschema.Draft7Validator(schemas["bom-1.6.schema.json"], registry=registry)


def _vuln(vid: str, purl: str, *, name: str = "busybox", version: str = "1.36.1-r29") -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vid,
        severity=Severity.HIGH,
        package=Package(name=name, version=version, type="apk", purl=purl),
        fix_state=FixState.FIXED,
        fixed_versions=("9",),
        scanner="trivy",
    )


def _image_scan(reference: str, *findings: Finding) -> Scan:
    return Scan(
        source="r.json",
        scanner="trivy",
        artifact=reference,
        artifact_type="container_image",
        image=Image(reference=reference, repo_tags=(reference,)),
        findings=findings,
    )


BUSYBOX = "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.20.1"


@pytest.mark.parametrize("name", [OCI_VEX, TRIVY_VEX])
def test_real_openvex_is_schema_valid_and_parsed_completely(name: str) -> None:
    raw, doc = _real_vex(name)
    _openvex_validator().validate(raw)
    assert doc.format == "openvex"
    assert len(doc.statements) == len(raw["statements"])
    for statement, source in zip(doc.statements, raw["statements"], strict=True):
        assert statement.ids[0] == source["vulnerability"]["name"]
        assert statement.status.value == source["status"]
        assert statement.justification == source.get("justification", "")
        assert len(statement.products) == len(source["products"])


def _mutations() -> list[tuple[str, Any]]:
    def drop(key: str) -> Any:
        return lambda d: d["statements"][0].pop(key)

    def put(key: str, value: Any) -> Any:
        return lambda d: d["statements"][0].__setitem__(key, value)

    return [
        ("no status", drop("status")),
        ("bad status", put("status", "mitigated")),
        ("bad justification", put("justification", "we_think_it_is_fine")),
        ("not_affected without a reason", lambda d: (d["statements"][0].pop("justification"),
                                                     d["statements"][0].pop("impact_statement"))),
        ("vulnerability without name", put("vulnerability", {"@id": "https://example.com/v"})),
        ("no statements", lambda d: d.__setitem__("statements", [])),
        ("bad timestamp", put("timestamp", "yesterday")),
    ]  # fmt: skip


@pytest.mark.parametrize(("what", "mutate"), _mutations(), ids=[m[0] for m in _mutations()])
def test_parser_refuses_what_the_schema_refuses(tmp_path: Path, what: str, mutate: Any) -> None:
    raw, _ = _real_vex(OCI_VEX)
    bad = copy.deepcopy(raw)
    mutate(bad)
    validator = _openvex_validator()
    schema_errors = list(validator.iter_errors(bad))
    if what == "bad timestamp":  # format is not asserted by the schema validator; the parser is stricter
        assert schema_errors == []
    else:
        assert schema_errors, what
    with pytest.raises(InputError) as info:
        read_vex("bad.openvex.json", json.dumps(bad).encode())
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("bad.openvex.json: ") and message.endswith("; the VEX document is malformed")


def test_parser_accepts_what_the_schema_accepts() -> None:
    raw, _ = _real_vex(OCI_VEX)
    ok = copy.deepcopy(raw)
    ok["statements"][0].update(status="affected", action_statement="Upgrade busybox")
    del ok["statements"][0]["justification"], ok["statements"][0]["impact_statement"]
    ok["statements"][1].update(status="under_investigation")
    _openvex_validator().validate(ok)
    doc = read_vex("ok.json", json.dumps(ok).encode())
    assert [s.status for s in doc.statements[:2]] == [VexStatus.AFFECTED, VexStatus.UNDER_INVESTIGATION]
    assert doc.statements[0].statement == "Upgrade busybox"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "the VEX document is empty"),
        (b"{not json", "invalid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"runs": []}', "neither OpenVEX `statements` nor a CycloneDX BOM"),
        (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}',
            "non-empty `vulnerabilities`",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "maybe"},'
            b' "affects": [{"ref": "x"}]}]}',
            r"vulnerabilities\[0\].analysis.state: 'maybe' is not one of",
        ),
        (  # the shape of CycloneDX/bom-examples VEX/Use-Cases/Case-5, which the schema refuses
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "not_affected"},'
            b' "affects": [{"ref": "x", "versions": {"range": "vers:semver/<=1.5.0", "state": "unaffected"}}]}]}',
            r"affects\[0\].versions: must be a list",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "not_affected"},'
            b' "affects": [{"ref": "x", "versions": [{"version": "1", "status": "not_affected"}]}]}]}',
            r"versions\[0\].status: 'not_affected' is not one of affected, unaffected, unknown",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "not_affected"},'
            b' "affects": [{"ref": "x", "versions": [{"version": "1", "range": "vers:deb/1"}]}]}]}',
            r"versions\[0\]: needs exactly one of `version` and `range`",
        ),
        # Wrong types and huge numbers were internal errors (TypeError, ValueError), not a line about the file.
        (
            b'{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"},'
            b' "status": "affected", "x": 1' + b"0" * 5000 + b"}]}",
            "invalid JSON \\(a number too long to read\\)",
        ),
        (
            b'{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"},'
            b' "status": "not_affected", "justification": ["component_not_present"]}]}',
            r"statements\[0\].justification: must be a string",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": ["in_triage"]},'
            b' "affects": [{"ref": "x"}]}]}',
            r"vulnerabilities\[0\].analysis.state: .* is not one of",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "not_affected",'
            b' "justification": {"code": "code_not_present"}}, "affects": [{"ref": "x"}]}]}',
            r"vulnerabilities\[0\].analysis.justification: must be a string",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "in_triage"},'
            b' "references": {"id": "GHSA-1"}, "affects": [{"ref": "x"}]}]}',
            r"vulnerabilities\[0\].references: must be a list",
        ),
        (
            b'{"bomFormat": "CycloneDX", "components": 5, "vulnerabilities": [{"id": "CVE-1",'
            b' "analysis": {"state": "in_triage"}, "affects": [{"ref": "x"}]}]}',
            r"components: must be a list",
        ),
        (
            b'{"bomFormat": "CycloneDX", "components": [{"bom-ref": "app", "components": 5}], "vulnerabilities":'
            b' [{"id": "CVE-1", "analysis": {"state": "in_triage"}, "affects": [{"ref": "x"}]}]}',
            r"components of app: must be a list",
        ),
    ],
)
def test_malformed_vex_is_one_line(data: bytes, words: str) -> None:
    with pytest.raises(InputError, match=words) as info:
        read_vex("v.json", data)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("data", [b"", b" \n\t\n"])
def test_an_empty_vex_file_is_named_a_vex_document_not_a_scanner_report(data: bytes) -> None:
    with pytest.raises(InputError) as info:
        read_vex("v.json", data)
    assert str(info.value) == "v.json: the VEX document is empty; check the step that wrote it"


@pytest.mark.parametrize(
    ("reference", "applies"),
    [
        ("ghcr.io/aquasecurity/trivy:0.53.0", True),
        ("aquasec/trivy:0.53.0", True),  # Docker Hub: index.docker.io%2Faquasec%2Ftrivy
        ("public.ecr.aws/aquasecurity/trivy:latest", True),
        ("docker.io/library/alpine:3.20", False),
        ("ghcr.io/someone-else/trivy:0.53.0", False),
    ],
)
def test_real_oci_openvex_applies_only_to_its_image(reference: str, applies: bool) -> None:
    _, doc = _real_vex(OCI_VEX)
    scan = _image_scan(
        reference, _vuln("CVE-2023-42363", BUSYBOX), _vuln("CVE-2023-42363", "pkg:apk/alpine/musl@1")
    )
    busybox, musl = apply_vex(scan, [doc]).findings
    assert musl.vex is None and musl.suppressed is None  # not a subcomponent the statement names
    if not applies:
        assert busybox.vex is None and busybox.suppressed is None
        return
    assert busybox.vex is not None and busybox.vex.status is VexStatus.NOT_AFFECTED
    assert busybox.suppressed is not None
    assert busybox.suppressed.status == "not_affected"
    assert busybox.suppressed.statement == (
        "VEX not_affected (vulnerable_code_cannot_be_controlled_by_adversary): awk is not used"
    )
    assert busybox.suppressed.source.startswith("VEX ") and busybox.suppressed.source.endswith(OCI_VEX)


def _openvex(*products: dict[str, Any]) -> VexDocument:
    return openvex(
        {
            "vulnerability": {"name": "CVE-2024-1"},
            "products": list(products),
            "status": "not_affected",
            "justification": "component_not_present",
        }
    )


@pytest.mark.parametrize(
    ("product", "noted"),
    [
        ({"@id": "pkg:oci/api"}, True),  # any image named api: applied, and the note says by name alone
        ({"@id": "pkg:oci/api", "subcomponents": [{"@id": BUSYBOX}]}, True),
        ({"@id": "pkg:oci/api?repository_url=registry.example.com/team/api"}, False),
        ({"@id": "pkg:oci/api@sha256:" + "a" * 64}, False),
        ({"@id": BUSYBOX}, False),  # the package itself
    ],
)
def test_a_statement_about_an_image_by_name_alone_applies_with_a_note(
    product: dict[str, Any], noted: bool
) -> None:
    reference = "registry.example.com/team/api:2.0.0"
    image = Image(reference=reference, repo_tags=(reference,), repo_digests=("x/api@sha256:" + "a" * 64,))
    scan = _image_scan(reference, _vuln("CVE-2024-1", BUSYBOX)).model_copy(update={"image": image})
    decided = apply_vex(scan, [_openvex(product)])
    assert decided.findings[0].suppressed is not None
    notes = [w for w in decided.warnings if "by its name alone" in w]
    assert notes == (
        ["VEX vex.json: product 'pkg:oci/api' gives no repository_url or digest, so it was taken to be this "
         "image by its name alone; give the image's repository_url or digest in the statement to be sure"]
        if noted
        else []
    )  # fmt: skip


_API = "pkg:oci/api?repository_url=registry.example.com/team/api"
_INDEX = "sha256:" + "b" * 64
"""A multi-architecture index's digest: every platform's image pulled through it has it among its repo digests."""


@pytest.mark.parametrize(
    ("product", "platform", "applies"),
    [
        (_API + "&arch=amd64", "linux/amd64", True),
        (_API + "&arch=x86_64", "linux/amd64", True),
        (_API + "&arch=amd64", "linux/arm64", False),  # a statement about another platform's image
        (f"pkg:oci/api@{_INDEX.replace(':', '%3A')}?arch=amd64", "linux/arm64/v8", False),
        (f"pkg:oci/api@{_INDEX.replace(':', '%3A')}?arch=arm64", "linux/arm64/v8", True),
        (_API + "&arch=arm/v7", "linux/arm/v6", False),
        (_API + "&arch=arm", "linux/arm/v6", True),
        (_API + "&arch=amd64", "", False),  # the image's platform is unknown: not taken to be it
        (_API + "&tag=2.0.0", "linux/amd64", True),
        (_API + "&tag=1.0.0", "linux/amd64", False),  # a statement about another version of the image
        (f"pkg:oci/api@{_INDEX.replace(':', '%3A')}?tag=1.0.0", "linux/amd64", True),  # the digest decides
    ],
)
def test_an_image_product_with_arch_or_tag_applies_only_to_that_image(
    product: str, platform: str, applies: bool
) -> None:
    reference = "registry.example.com/team/api:2.0.0"
    image = Image(
        reference=reference,
        repo_tags=(reference,),
        repo_digests=(f"registry.example.com/team/api@{_INDEX}",),
        platform=platform,
    )
    scan = _image_scan(reference, _vuln("CVE-2024-1", BUSYBOX)).model_copy(update={"image": image})
    for products in ([{"@id": product}], [{"@id": product, "subcomponents": [{"@id": BUSYBOX}]}]):
        decided = apply_vex(scan, [_openvex(*products)])
        assert (decided.findings[0].suppressed is not None) is applies


def test_openvex_0_0_1_statement_level_subcomponents_narrow_its_products() -> None:
    # OpenVEX 0.0.1 (go-vex before 0.2) lists products and subcomponents as strings beside each other: the statement
    # is about busybox in the image, not every package of the image with that CVE.
    raw = {
        "@context": "https://openvex.dev/ns",
        "@id": "https://example.com/vex-0.0.1",
        "author": "me",
        "timestamp": "2026-11-20T10:00:00Z",
        "version": "1",
        "statements": [
            {
                "vulnerability": "CVE-2024-1",
                "products": ["pkg:oci/api?repository_url=registry.example.com/team/api"],
                "subcomponents": ["pkg:apk/alpine/busybox"],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            }
        ],
    }
    doc = read_vex("vex.json", json.dumps(raw).encode())
    assert doc.statements[0].products[0].subcomponents == ("pkg:apk/alpine/busybox",)
    musl = _vuln("CVE-2024-1", "pkg:apk/alpine/musl@1.2.5-r0", name="musl", version="1.2.5-r0")
    scan = _image_scan("registry.example.com/team/api:2.0.0", _vuln("CVE-2024-1", BUSYBOX), musl)
    busybox_after, musl_after = apply_vex(scan, [doc]).findings
    assert busybox_after.suppressed is not None
    assert musl_after.suppressed is None and musl_after.vex is None


def _named(name: str, *aliases: str) -> VexDocument:
    statement = {
        "vulnerability": {"name": name, "aliases": list(aliases)},
        "products": [{"@id": "pkg:deb/debian/libxml2"}],
        "status": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path",
    }
    raw = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex-aliases",
        "author": "me",
        "timestamp": "2026-11-20T10:00:00Z",
        "version": 1,
        "statements": [statement],
    }
    return read_vex("vex.json", json.dumps(raw).encode())


@pytest.mark.parametrize(
    ("document", "finding_id", "finding_aliases", "suppressed"),
    [
        (("CVE-2024-1", "DSA-5001-1"), "CVE-2024-1", ("DSA-5001-1",), True),
        (
            ("CVE-2024-1", "GHSA-aaaa-bbbb-cccc"),
            "GHSA-aaaa-bbbb-cccc",
            ("CVE-2024-1",),
            True,
        ),  # its alias is the ID
        (("GHSA-aaaa-bbbb-cccc", "CVE-2024-1"), "CVE-2024-1", (), True),
        (("DSA-5001-1",), "CVE-2024-2", ("DSA-5001-1",), True),  # a statement about the advisory itself
        # Trivy lists the Debian advisory that fixes both CVEs with each: CVE-2024-1's statement is not CVE-2024-2's.
        (("CVE-2024-1", "DSA-5001-1"), "CVE-2024-2", ("DSA-5001-1",), False),
    ],
)
def test_a_statement_applies_by_its_name_not_by_an_alias_it_shares_with_another_vulnerability(
    document: tuple[str, ...], finding_id: str, finding_aliases: tuple[str, ...], suppressed: bool
) -> None:
    libxml2 = "pkg:deb/debian/libxml2@2.9.14%2Bdfsg-1.3?distro=debian-12"
    finding = _vuln(finding_id, libxml2, name="libxml2", version="2.9.14+dfsg-1.3")
    finding = finding.model_copy(update={"aliases": finding_aliases})
    decided = apply_vex(_image_scan("debian:12", finding), [_named(*document)])
    assert (decided.findings[0].suppressed is not None) is suppressed
    assert (decided.findings[0].vex is not None) is suppressed


def test_a_statement_that_also_pins_the_image_gets_no_by_name_note() -> None:
    reference = "registry.example.com/team/api:2.0.0"
    scan = _image_scan(reference, _vuln("CVE-2024-1", BUSYBOX))
    pinned = {"@id": "pkg:oci/api?repository_url=registry.example.com/team/api"}
    decided = apply_vex(scan, [_openvex({"@id": "pkg:oci/api"}, pinned)])
    assert decided.findings[0].suppressed is not None
    assert not [w for w in decided.warnings if "by its name alone" in w]


def test_a_statement_takes_the_place_of_a_scanners_ignore_rule(tmp_path: Path) -> None:
    """A finding .trivyignore left out and a VEX statement says is not_affected stays suppressed when the policy
    does not honor ignore rules: docs/policy.md, "a VEX statement (the scanner's --vex or the gate's) still
    suppresses"."""
    doc = read_vex(
        "vex.json",
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex-1",
                "author": "me",
                "timestamp": "2026-11-20T10:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2024-1"},
                        "products": [{"@id": BUSYBOX}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        ).encode(),
    )
    ignored = _vuln("CVE-2024-1", BUSYBOX).model_copy(
        update={"suppressed": Suppression(status="ignored", source=".trivyignore")}
    )
    [finding] = apply_vex(_image_scan("registry.example/app:1", ignored), [doc]).findings
    assert finding.suppressed is not None
    assert (finding.suppressed.status, finding.suppressed.source) == ("not_affected", "VEX vex.json")
    strict = write_policy(
        tmp_path, 'extends = "builtin:default"\n[settings]\nhonor_scanner_ignores = false\n'
    )
    decision = evaluate(apply_vex(_image_scan("registry.example/app:1", ignored), [doc]), load_policy(str(strict)),
                        today=TODAY)  # fmt: skip
    assert decision.verdict is not Verdict.FAIL  # (the image's user is not known: non-root-user warns)
    assert [f.id for f in decision.images[0].suppressed] == ["CVE-2024-1"]


def test_real_trivy_openvex_does_not_waive_another_product() -> None:
    _, doc = _real_vex(TRIVY_VEX)
    need_shared()
    path = REAL / "grype" / GITEA
    gitea = read_report(str(path), path.read_bytes())
    [x_net] = [
        f for f in gitea.findings if f.id == "GHSA-4374-p667-p6c8"
    ]  # aliases CVE-2023-39325, in the VEX
    assert x_net.package is not None and x_net.package.purl == "pkg:golang/golang.org/x/net@v0.13.0"
    after = apply_vex(gitea, [doc])
    assert all(f.vex is None for f in after.findings)  # the statements are about the trivy binary, not gitea


def test_real_trivy_openvex_waives_inside_the_trivy_binary() -> None:
    _, doc = _real_vex(TRIVY_VEX)
    trivy_module = _vuln("CVE-2024-0001", "pkg:golang/github.com/aquasecurity/trivy@v0.53.0", name="trivy")
    x_net = _vuln("CVE-2023-39325", "pkg:golang/golang.org/x/net@v0.17.0", name="golang.org/x/net")
    scan = _image_scan("ghcr.io/aquasecurity/trivy:0.53.0", trivy_module, x_net)
    _, waived = apply_vex(scan, [doc]).findings
    assert waived.vex is not None and waived.vex.justification == "vulnerable_code_not_in_execute_path"
    decision = evaluate(apply_vex(scan, [doc]), load_policy("builtin:default"), today=TODAY)
    [suppressed] = decision.images[0].suppressed
    assert suppressed.id == "CVE-2023-39325"
    [entry] = record(decision)["images"][0]["suppressed"]
    assert entry["statement"].startswith(
        "VEX not_affected (vulnerable_code_not_in_execute_path): Govulncheck"
    )


def test_real_trivy_openvex_does_not_waive_the_module_in_another_go_binary() -> None:
    # An image with the trivy binary and the user's own: the statements are about the modules inside trivy.
    _, doc = _real_vex(TRIVY_VEX)

    def found(purl: str, name: str, binary: str) -> Finding:
        return _vuln("CVE-2023-39325", purl, name=name).model_copy(update={"target": binary})

    trivy_module = found("pkg:golang/github.com/aquasecurity/trivy@v0.53.0", "trivy", "usr/local/bin/trivy")
    trivy_module = trivy_module.model_copy(update={"id": "CVE-2024-0001"})
    x_net = "pkg:golang/golang.org/x/net@v0.17.0"
    in_trivy = found(x_net, "golang.org/x/net", "/usr/local/bin/trivy")  # Grype names it with a leading /
    in_app = found(x_net, "golang.org/x/net", "usr/local/bin/app")
    scan = _image_scan("ghcr.io/acme/app:1", trivy_module, in_trivy, in_app)
    _, waived, kept = apply_vex(scan, [doc]).findings
    assert waived.suppressed is not None
    assert (kept.vex, kept.suppressed) == (None, None)


def test_cyclonedx_vex_is_schema_valid() -> None:
    _cdx_validator().validate(json.loads(CDX.read_text(encoding="utf-8")))


def test_cyclonedx_vex_on_the_real_gitea_report() -> None:
    need_shared()
    path = REAL / "grype" / GITEA
    scan = apply_vex(read_report(str(path), path.read_bytes()), [read_vex(str(CDX), CDX.read_bytes())])
    status = {(f.id, f.package.name if f.package else ""): f.vex.status.value for f in scan.findings if f.vex}
    assert status[("CVE-2023-38545", "curl")] == "not_affected"
    assert status[("CVE-2023-38545", "libcurl")] == "not_affected"
    assert status[("CVE-2023-44487", "nghttp2-libs")] == "affected"
    assert status[("GHSA-4374-p667-p6c8", "golang.org/x/net")] == "fixed"
    assert (
        sum(1 for (vid, _), s in status.items() if vid == "CVE-2022-3219" and s == "under_investigation")
        == 11
    )
    assert len(status) == 15
    decision = evaluate(scan, load_policy("builtin:default"), today=TODAY)
    suppressed = {(f.id, f.suppressed.statement) for f in decision.images[0].suppressed if f.suppressed}
    assert (
        "CVE-2023-38545",
        "VEX not_affected (code_not_reachable): The image never talks to a SOCKS5 proxy.",
    ) in suppressed
    assert ("GHSA-4374-p667-p6c8", "VEX fixed: Patched in the vendored copy.") in suppressed
    investigating = next(r for r in decision.images[0].rules if r.rule_id == "vex-under-investigation")
    assert (investigating.triggered, investigating.matched) == (True, 11)
    assert decision.verdict is Verdict.FAIL  # the fixable HIGH findings still fail
    active = {o.finding.id for o in decision.images[0].outcomes}
    assert "CVE-2023-44487" in active and "CVE-2023-38545" not in active


def test_the_latest_statement_wins(tmp_path: Path) -> None:
    def doc(status: str, when: str, extra: dict[str, str]) -> bytes:
        statement = {
            "vulnerability": {"name": "CVE-2023-42363"},
            "products": [{"@id": BUSYBOX}],
            "status": status,
        }
        statement.update(extra)
        return json.dumps({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "me", "timestamp": when,
            "version": 1, "statements": [statement],
        }).encode()  # fmt: skip

    older = read_vex(
        "old.json", doc("not_affected", "2026-01-01T00:00:00Z", {"justification": "component_not_present"})
    )
    newer = read_vex("new.json", doc("affected", "2026-06-01T00:00:00Z", {"action_statement": "upgrade"}))
    scan = _image_scan("x/app:1", _vuln("CVE-2023-42363", BUSYBOX))
    for order in ([older, newer], [newer, older]):
        [finding] = apply_vex(scan, order).findings
        assert finding.vex is not None and finding.vex.status is VexStatus.AFFECTED
        assert finding.suppressed is None

    # A statement from the future would outrank every later one: refused, with a day's grace for clocks.
    check_dates([older, newer], date(2026, 5, 31))
    with pytest.raises(InputError) as info:
        check_dates([older, newer], date(2026, 5, 30))
    assert str(info.value) == (
        "new.json: the statement about CVE-2023-42363 is dated 2026-06-01, after the evaluation date 2026-05-30; it "
        "would outrank every later statement: check the document and the clock (or --today)"
    )
    # A time at the calendar's edge has no UTC date: compared all the same, not an internal error.
    edge = read_vex("edge.json", doc("affected", "9999-12-31T23:00:00-05:00", {}))
    with pytest.raises(
        InputError, match=r"^edge.json: the statement about CVE-2023-42363 is dated 9999-12-31, "
    ):
        check_dates([edge], date(2026, 5, 30))
    check_dates([read_vex("old.json", doc("affected", "0001-01-01T00:00:00+05:00", {}))], date(2026, 5, 30))
    # An evaluation date at the calendar's end (--today 9999-12-31) has no day's grace after it: nothing is later.
    for last in (date(9999, 12, 30), date(9999, 12, 31)):
        check_dates([edge], last)
        check_dates([], last)

    # The vulnerability's name is the document's text: shortened and printable in the one-line message.
    named = json.loads(doc("affected", "2027-01-01T00:00:00Z", {}))
    named["statements"][0]["vulnerability"]["name"] = "CVE-" + "9" * 10_000 + "\n::error::x"
    with pytest.raises(InputError) as info:
        check_dates([read_vex("named.json", json.dumps(named).encode())], date(2026, 5, 30))
    assert str(info.value).startswith(
        "named.json: the statement about CVE-" + "9" * 55 + "… is dated 2027-01-01"
    )


def test_a_vendor_vex_document_is_not_checked_against_every_package_per_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1,000 packages, 300 statements whose product (a package of the report) lists the affected subcomponent.
    # Checking the product against every package for every finding made large reports quadratic.
    findings = [_vuln(f"CVE-2026-{i}", f"pkg:npm/pkg{i}@1.0.{i}", name=f"pkg{i}") for i in range(1000)]
    statements = [
        {
            "vulnerability": {"name": f"CVE-2026-{i}"},
            "products": [{"@id": "pkg:npm/pkg999", "subcomponents": [{"@id": f"pkg:npm/pkg{i}"}]}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_present",
        }
        for i in range(300)
    ]
    document = json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "vendor",
        "timestamp": "2026-01-01T00:00:00Z", "version": 1, "statements": statements,
    }).encode()  # fmt: skip
    calls = 0
    covers = Purl.covers

    def counting(self: Purl, other: Purl) -> bool:
        nonlocal calls
        calls += 1
        return covers(self, other)

    monkeypatch.setattr(Purl, "covers", counting)
    scan = apply_vex(_image_scan("x/app:1", *findings), [read_vex("vendor.vex.json", document)])
    assert sum(1 for f in scan.findings if f.suppressed is not None) == 300
    assert calls <= 2 * 300  # per finding: the product against its own package name, the subcomponent once


OPENSSL = "pkg:deb/debian/openssl@3.0.1?arch=amd64&distro=debian-12"
NOT_EVALUATED = "cannot tell whether openssl 3.0.1 is in range"


def _cdx_vex(
    versions: list[dict[str, str]] | None,
    *,
    purl: str = "pkg:deb/debian/openssl",
    state: str = "not_affected",
    when: str = "2026-11-20T10:00:00Z",
) -> dict[str, Any]:
    affects: dict[str, Any] = {"ref": "ossl"}
    if versions is not None:
        affects["versions"] = versions
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [{"type": "library", "bom-ref": "ossl", "name": "openssl", "purl": purl}],
        "vulnerabilities": [{
            "id": "CVE-2024-0001",
            "analysis": {"state": state, "justification": "code_not_reachable", "detail": "Not called.",
                         "lastUpdated": when},
            "affects": [affects],
        }],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("versions", "purl", "suppressed", "noted"),
    [
        (None, "pkg:deb/debian/openssl", True, False),  # no versions: the ref's purl decides
        ([], "pkg:deb/debian/openssl", True, False),
        (None, "pkg:deb/debian/openssl@3.0.1", True, False),
        (None, "pkg:deb/debian/openssl@3.0.5", False, False),
        ([{"version": "3.0.5", "status": "unaffected"}], "pkg:deb/debian/openssl", False, False),  # the bug
        ([{"version": "3.0.1", "status": "unaffected"}], "pkg:deb/debian/openssl", True, False),
        ([{"version": "3.0.1", "status": "unaffected"}], "pkg:deb/debian/openssl@3.0.1", True, False),
        ([{"version": "3.0.1", "status": "unaffected"}], "pkg:deb/debian/openssl@3.0.5", False, False),
        ([{"version": "3.0.1"}], "pkg:deb/debian/openssl", False, False),  # the schema's default: affected
        ([{"version": "3.0.1", "status": "affected"}], "pkg:deb/debian/openssl", False, False),
        ([{"version": "3.0.1", "status": "unknown"}], "pkg:deb/debian/openssl", False, False),
        (
            [{"version": "3.0.1", "status": "unaffected"}, {"range": "vers:deb/3.0.1", "status": "affected"}],
            "pkg:deb/debian/openssl",
            False,
            False,
        ),
        ([{"range": "vers:deb/3.0.0|3.0.1", "status": "unaffected"}], "pkg:deb/debian/openssl", True, False),
        ([{"range": "vers:deb/3.0.2|3.0.3", "status": "unaffected"}], "pkg:deb/debian/openssl", False, False),
        (
            [{"range": "vers:deb/>=3.0.1|<3.0.5", "status": "unaffected"}],
            "pkg:deb/debian/openssl",
            True,
            False,
        ),
        ([{"range": "vers:deb/*", "status": "unaffected"}], "pkg:deb/debian/openssl", True, False),
        ([{"range": "vers:deb/>=1.0|<2.0", "status": "unaffected"}], "pkg:deb/debian/openssl", False, True),
        (
            [{"range": "vers:deb/>=3.0.0|<3.0.5", "status": "unaffected"}],
            "pkg:deb/debian/openssl",
            False,
            True,
        ),
        (
            [{"range": "vers:deb/>=3.0.0|<3.0.5", "status": "affected"}],
            "pkg:deb/debian/openssl",
            False,
            False,
        ),
    ],
)
def test_cyclonedx_versions_limit_a_statement_to_the_versions_it_lists(
    versions: list[dict[str, str]] | None, purl: str, suppressed: bool, noted: bool
) -> None:
    raw = _cdx_vex(versions, purl=purl)
    _cdx_validator().validate(raw)
    doc = read_vex("cdx.json", json.dumps(raw).encode())
    scan = apply_vex(
        _image_scan("x/app:1", _vuln("CVE-2024-0001", OPENSSL, name="openssl", version="3.0.1")), [doc]
    )
    [finding] = scan.findings
    assert (finding.suppressed is not None) is suppressed
    assert (finding.vex is not None) is suppressed
    notes = [w for w in scan.warnings if NOT_EVALUATED in w]
    assert len(notes) == (1 if noted else 0)
    if noted:
        assert notes[0].startswith("VEX cdx.json: CVE-2024-0001: ")
        assert notes[0].endswith("the not_affected statement is not applied (the finding is not suppressed)")


def test_cyclonedx_version_check_on_the_gate() -> None:
    # the reported bug end to end: a statement about openssl 3.0.5 let the gate pass with 3.0.1 installed
    raw = _cdx_vex([{"version": "3.0.5", "status": "unaffected"}])
    doc = read_vex("cdx.json", json.dumps(raw).encode())
    scan = _image_scan(
        "x/app:1",
        _vuln("CVE-2024-0001", OPENSSL, name="openssl", version="3.0.1").model_copy(
            update={"severity": Severity.CRITICAL}
        ),
    )
    decision = evaluate(apply_vex(scan, [doc]), load_policy("builtin:default"), today=TODAY)
    assert decision.verdict is Verdict.FAIL
    assert decision.images[0].suppressed == ()


def test_an_undecided_range_never_lets_an_older_not_affected_suppress() -> None:
    older = read_vex("old.json", json.dumps(_cdx_vex(None, when="2026-01-01T00:00:00Z")).encode())
    triage = _cdx_vex([{"range": "vers:deb/>=3.0.0|<3.0.5"}], state="in_triage", when="2026-06-01T00:00:00Z")
    _cdx_validator().validate(triage)
    newer = read_vex("new.json", json.dumps(triage).encode())
    scan = _image_scan("x/app:1", _vuln("CVE-2024-0001", OPENSSL, name="openssl", version="3.0.1"))
    for order in ([older, newer], [newer, older]):
        after = apply_vex(scan, order)
        [finding] = after.findings
        assert finding.suppressed is None
        assert finding.vex is not None and finding.vex.status is VexStatus.UNDER_INVESTIGATION
        [note] = [w for w in after.warnings if NOT_EVALUATED in w]
        assert note.startswith("VEX new.json: ") and note.endswith(
            "statement is applied (the finding stays active)"
        )
    # a range that excludes the version exactly: the older statement decides
    outside = _cdx_vex([{"range": "vers:deb/3.0.2"}], state="in_triage", when="2026-06-01T00:00:00Z")
    [finding] = apply_vex(scan, [older, read_vex("new.json", json.dumps(outside).encode())]).findings
    assert finding.vex is not None and finding.vex.status is VexStatus.NOT_AFFECTED


def test_cyclonedx_versions_of_the_image_are_its_digest() -> None:
    digest = "sha256:" + "ab" * 32
    image = Image(reference="x/app:1", repo_tags=("x/app:1",), repo_digests=(f"x/app@{digest}",))
    scan = Scan(
        source="r.json", scanner="trivy", artifact="x/app:1", artifact_type="container_image", image=image,
        findings=(_vuln("CVE-2024-0001", OPENSSL, name="openssl", version="3.0.1"),),
    )  # fmt: skip
    for version, applies in ((digest, True), ("1.0.0", False), ("3.0.1", False)):
        raw = _cdx_vex([{"version": version, "status": "unaffected"}], purl="pkg:oci/app")
        [finding] = apply_vex(scan, [read_vex("cdx.json", json.dumps(raw).encode())]).findings
        assert (finding.suppressed is not None) is applies, version


def _advisory(vid: str, *aliases: str) -> Finding:
    """Grype's Amazon Linux match: the advisory, with every CVE it fixes as an alias."""
    purl = "pkg:rpm/amzn/openssl-libs@1.0.2k-19.amzn2?arch=x86_64"
    finding = _vuln(vid, purl, name="openssl-libs", version="1.0.2k-19.amzn2")
    return finding.model_copy(update={"aliases": aliases, "scanner": "grype"})


@pytest.mark.parametrize(
    ("name", "aliases", "status", "suppressed", "noted"),
    [
        ("CVE-2023-0001", [], "not_affected", False, True),  # says nothing of CVE-2023-0002
        ("CVE-2023-0001", [], "affected", False, True),  # applies: it stays active
        ("ALAS-2023-1234", [], "not_affected", True, False),  # the advisory itself
        ("CVE-2023-0001", ["CVE-2023-0002"], "not_affected", True, False),  # every CVE it covers
    ],
)
def test_a_statement_about_one_cve_of_an_advisory_does_not_suppress_it(
    name: str, aliases: list[str], status: str, suppressed: bool, noted: bool
) -> None:
    statement: dict[str, Any] = {
        "vulnerability": {"name": name, "aliases": aliases},
        "products": [{"@id": "pkg:rpm/amzn/openssl-libs"}],
        "status": status,
    }
    statement.update({"justification": "component_not_present"} if status == "not_affected" else {})
    raw = {
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "me",
        "timestamp": "2026-11-20T10:00:00Z", "version": 1, "statements": [statement],
    }  # fmt: skip
    scan = _image_scan("x/app:1", _advisory("ALAS-2023-1234", "CVE-2023-0001", "CVE-2023-0002"))
    decided = apply_vex(scan, [read_vex("vex.json", json.dumps(raw).encode())])
    [finding] = decided.findings
    assert (finding.suppressed is not None) is suppressed
    assert (finding.vex is not None) is (suppressed or status == "affected")
    effect = "not applied (the finding is not suppressed)" if status == "not_affected" else "applied (the finding stays active)"  # fmt: skip
    assert list(decided.warnings) == (
        [f"VEX vex.json: CVE-2023-0001: ALAS-2023-1234 also covers CVE-2023-0002; the {status} statement is "
         f"{effect}; a statement about ALAS-2023-1234 itself covers all of them"]
        if noted
        else []
    )  # fmt: skip
