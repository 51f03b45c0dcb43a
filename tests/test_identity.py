"""Finding and image identities: stable across rebuilds and version bumps, comparable across Trivy and Grype."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gate.identity import (
    FindingIndex,
    ImageIdentity,
    finding_identity,
    group_indices,
    image_identity,
    normalise_platform,
    normalise_reference,
    reference_tag,
    repository,
)
from gate.ingest import read_report
from gate.model import Finding, FindingKind, Image, Package, Scan
from tests.conftest import REAL, TESTDATA, need_shared


def _vuln(
    id_: str,
    name: str,
    version: str = "1.0",
    *,
    pkg_type: str = "npm",
    path: str = "",
    purl: str = "",
    aliases: tuple[str, ...] = (),
    scanner: str = "trivy",
) -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=id_,
        aliases=aliases,
        package=Package(name=name, version=version, type=pkg_type, path=path, purl=purl),
        scanner=scanner,  # type: ignore[arg-type]
    )


def test_version_is_not_part_of_the_identity() -> None:
    a = _vuln("CVE-2021-1", "lodash", "4.17.11", path="app/node_modules/lodash/package.json")
    b = _vuln("CVE-2021-1", "lodash", "4.17.20", path="app/node_modules/lodash/package.json")
    assert finding_identity(a).matches(finding_identity(b))


def test_version_inside_a_path_is_ignored() -> None:
    a = _vuln("CVE-2021-44228", "org.apache.logging.log4j:log4j-core", "2.14.1", pkg_type="jar",
              path="app/lib/log4j-core-2.14.1.jar")  # fmt: skip
    b = _vuln("CVE-2021-44228", "org.apache.logging.log4j:log4j-core", "2.15.0", pkg_type="jar",
              path="app/lib/log4j-core-2.15.0.jar")  # fmt: skip
    assert finding_identity(a).path == "app/lib/log4j-core-*.jar"
    assert finding_identity(a).matches(finding_identity(b))


def test_version_inside_a_path_is_ignored_with_a_v_before_it() -> None:
    # The Node.js images install yarn in /opt/yarn-v1.22.5 (Trivy's node-pkg path opt/yarn-v1.22.5/package.json).
    a = _vuln("CVE-2021-4435", "yarn", "1.22.5", path="opt/yarn-v1.22.5/package.json")
    b = _vuln("CVE-2021-4435", "yarn", "1.22.19", path="opt/yarn-v1.22.19/package.json")
    assert finding_identity(a).path == "opt/yarn-*/package.json"
    assert finding_identity(a).matches(finding_identity(b))
    go = _vuln(
        "CVE-1", "golang.org/x/net", "v0.13.0", pkg_type="gomod", path="pkg/mod/golang.org/x/net@v0.13.0"
    )
    assert finding_identity(go).path == "pkg/mod/golang.org/x/net@*"


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (_vuln("cve-2021-1", "LODASH"), True),  # IDs and names compare case-insensitively
        (_vuln("GHSA-xxxx", "lodash", aliases=("CVE-2021-1",)), True),  # our ID is its alias
        # Two CVEs fixed by one Debian advisory both list it (Trivy's VendorIDs): a shared alias is not enough.
        (_vuln("CVE-2021-2", "lodash", aliases=("DSA-5000-1",)), False),
        (_vuln("CVE-2021-2", "lodash"), False),
        (_vuln("CVE-2021-1", "underscore"), False),
        (_vuln("CVE-2021-1", "lodash", pkg_type="pip"), False),  # another ecosystem
        (_vuln("CVE-2021-1", "lodash", path="a/package.json"), True),  # one side has no path
    ],
)
def test_identity_matches(other: Finding, same: bool) -> None:
    base = _vuln("CVE-2021-1", "lodash", aliases=("DSA-5000-1",))
    assert finding_identity(base).matches(finding_identity(other)) is same


def test_paths_must_agree_when_both_are_given() -> None:
    a = _vuln("CVE-1", "minimist", path="app/node_modules/minimist/package.json")
    b = _vuln("CVE-1", "minimist", path="app/node_modules/mkdirp/node_modules/minimist/package.json")
    assert not finding_identity(a).matches(finding_identity(b))


def test_trivy_and_grype_name_packages_differently_but_alike() -> None:
    trivy = _vuln("CVE-1", "libssl1.1", "1.1.1c-r0", pkg_type="alpine",
                  purl="pkg:apk/alpine/libssl1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2")  # fmt: skip
    grype = _vuln("CVE-1", "libssl1.1", "1.1.1c-r0", pkg_type="apk", path="/lib/apk/db/installed",
                  purl="pkg:apk/alpine/libssl1.1@1.1.1c-r0?arch=x86_64&upstream=openssl", scanner="grype")  # fmt: skip
    assert _alike(trivy, grype)
    jar_trivy = _vuln("CVE-2", "org.yaml:snakeyaml", "1.33", pkg_type="jar", path="app/app.jar",
                      purl="pkg:maven/org.yaml/snakeyaml@1.33")  # fmt: skip
    jar_grype = _vuln("CVE-2", "snakeyaml", "1.33", pkg_type="java-archive", path="/app/app.jar",
                      purl="pkg:maven/org.yaml/snakeyaml@1.33", scanner="grype")  # fmt: skip
    assert _alike(jar_trivy, jar_grype)


def _alike(a: Finding, b: Finding) -> bool:
    """The two findings' identities are equal but for the scanner, and match."""
    first, second = finding_identity(a), finding_identity(b)
    return replace(first, scanner="") == replace(second, scanner="") and first.matches(second)


def test_a_second_lockfile_or_binary_with_the_same_package_is_another_place() -> None:
    # Trivy gives lockfile and Go binary packages no path of their own: the target says where they are.
    def go(target: str, version: str = "v0.13.0", scanner: str = "trivy") -> Finding:
        found = _vuln("CVE-2023-44487", "golang.org/x/net", version, pkg_type="gobinary", scanner=scanner)
        return found.model_copy(update={"target": target})

    app = finding_identity(go("usr/local/bin/app1"))
    assert not app.matches(finding_identity(go("usr/local/bin/newtool")))
    assert app.matches(finding_identity(go("usr/local/bin/app1", "v0.14.0")))  # a version bump: the same
    assert app.matches(finding_identity(go("/app/whatever", scanner="grype")))  # scanners name places apart


def test_a_lockfile_or_binary_is_compared_with_the_path_another_scanner_gives() -> None:
    # Grype gives the lockfile or binary a language package is in as its path; Trivy gives it as the target.
    def go(place: str, scanner: str) -> Finding:
        path = place if scanner == "grype" else ""
        found = _vuln("CVE-2023-44487", "golang.org/x/net", "v0.13.0", pkg_type="gobinary", path=path,
                      scanner=scanner)  # fmt: skip
        return found.model_copy(update={"target": place})

    trivy_app = finding_identity(go("usr/local/bin/app1", "trivy"))
    grype_app = finding_identity(go("/usr/local/bin/app1", "grype"))
    assert trivy_app.matches(grype_app) and grype_app.matches(trivy_app)
    for trivy, grype in ((trivy_app, finding_identity(go("/usr/local/bin/newtool", "grype"))),
                         (finding_identity(go("usr/local/bin/newtool", "trivy")), grype_app)):  # fmt: skip
        assert not trivy.matches(grype) and not grype.matches(trivy)


def test_real_trivy_and_grype_findings_of_one_image_match() -> None:
    need_shared()
    path = REAL / "trivy" / "trivy-integ--alpine-310.json"
    trivy = read_report(str(path), path.read_bytes())
    grype_path = TESTDATA / "merge" / "grype-alpine-310.json"
    grype = read_report(str(grype_path), grype_path.read_bytes())
    index = FindingIndex(trivy.findings)
    found = [f for f in grype.findings if f in index]
    # CVE-2019-1549 (libssl1.1, libcrypto1.1) and CVE-2019-1551 libssl1.1; CVE-2019-1563 is Grype's alone.
    assert [(f.id, f.package.name if f.package else "") for f in found] == [
        ("CVE-2019-1549", "libssl1.1"),
        ("CVE-2019-1549", "libcrypto1.1"),
        ("CVE-2019-1551", "libssl1.1"),
    ]
    assert image_identity(trivy).same_image(image_identity(grype))


@pytest.mark.parametrize(
    ("reference", "normal", "repo"),
    [
        ("alpine", "docker.io/library/alpine:latest", "docker.io/library/alpine"),
        ("alpine:3.19", "docker.io/library/alpine:3.19", "docker.io/library/alpine"),
        ("index.docker.io/library/alpine@sha256:" + "a" * 64, "docker.io/library/alpine@sha256:" + "a" * 64,
         "docker.io/library/alpine"),
        ("ghcr.io/Org/App:pr-12", "ghcr.io/org/app:pr-12", "ghcr.io/org/app"),
        ("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app"),
        ("bkimminich/juice-shop:v12.10.2", "docker.io/bkimminich/juice-shop:v12.10.2", "docker.io/bkimminich/juice-shop"),
        ("testdata/fixtures/images/alpine-310.tar.gz", "testdata/fixtures/images/alpine-310.tar.gz",
         "testdata/fixtures/images/alpine-310.tar.gz"),
        # a Windows path (Trivy on Windows) names no image in a registry, like a tarball's path
        ("C:\\out\\oci", "C:\\out\\oci", "C:\\out\\oci"),
        ("C:\\build\\app.tar", "C:\\build\\app.tar", "C:\\build\\app.tar"),
        # paths, a zstd tarball and names with any blank are kept as written, not read as Docker Hub images whose
        # lower-cased names two different files could share
        ("/out/App-OCI", "/out/App-OCI", "/out/App-OCI"),
        ("./Build/app", "./Build/app", "./Build/app"),
        ("~/images/App", "~/images/App", "~/images/App"),
        ("C:/out/OCI", "C:/out/OCI", "C:/out/OCI"),
        ("out/App.tar.zst", "out/App.tar.zst", "out/App.tar.zst"),
        ("App\tbuild", "App\tbuild", "App\tbuild"),
        ("oci://out/App", "oci://out/App", "oci://out/App"),
    ],
)  # fmt: skip
def test_references(reference: str, normal: str, repo: str) -> None:
    assert normalise_reference(reference) == normal
    assert repository(reference) == repo


def _image_scan(reference: str, image_id: str = "", digests: tuple[str, ...] = ()) -> Scan:
    image = Image(reference=reference, image_id=image_id, repo_digests=digests)
    return Scan(
        source=reference, scanner="trivy", artifact=reference, artifact_type="container_image", image=image
    )


def test_same_image_and_same_repository() -> None:
    main = image_identity(_image_scan("ghcr.io/org/app:main", "sha256:" + "1" * 64))
    pr = image_identity(_image_scan("ghcr.io/org/app:pr-7", "sha256:" + "2" * 64))
    pinned = image_identity(_image_scan("ghcr.io/org/app@sha256:" + "3" * 64))
    same_digest = image_identity(_image_scan("", digests=("registry.local/app@sha256:" + "3" * 64,)))
    assert not main.same_image(pr)
    assert main.same_repository(pr)
    assert pinned.same_image(same_digest)  # one manifest digest, two registries
    assert not main.same_repository(image_identity(_image_scan("ghcr.io/org/other:main")))


def test_two_windows_directories_are_not_one_repository() -> None:
    # `C:\out\app` was read as the image `c` with the tag `\out\app`: every OCI layout on drive C one repository.
    app, worker = (image_identity(_image_scan(f"C:\\out\\{name}")) for name in ("app", "worker"))
    assert not app.same_repository(worker)


@pytest.mark.parametrize(
    ("platform", "normal"),
    [
        ("linux/amd64", ("linux", "amd64", "")),
        ("Linux/x86_64", ("linux", "amd64", "")),
        ("linux/aarch64/v8", ("linux", "arm64", "")),
        ("linux/arm/v7", ("linux", "arm", "v7")),
        ("linux", ("", "", "")),
        ("/amd64", ("", "", "")),
        ("linux/arm/v7/x", ("", "", "")),
        ("", ("", "", "")),
    ],
)
def test_platforms(platform: str, normal: tuple[str, str, str]) -> None:
    assert normalise_platform(platform) == normal


def test_same_platform_only_when_both_know_it() -> None:
    def ident(platform: str) -> ImageIdentity:
        return image_identity(
            Scan(source="r", scanner="trivy", image=Image(reference="app:1", platform=platform))
        )

    assert ident("linux/arm64").same_platform(ident("linux/aarch64/v8"))
    assert ident("linux/arm").same_platform(ident("linux/arm/v7"))  # a variant only one gives
    assert not ident("linux/arm/v6").same_platform(ident("linux/arm/v7"))
    assert not ident("linux/amd64").same_platform(ident("linux/arm64"))
    assert not ident("").same_platform(ident(""))
    assert not ident("linux/amd64").same_platform(ident(""))


def test_real_reports_give_the_platform() -> None:
    need_shared()
    for name, platform in [
        ("trivy/ci-twsecom--trivy-report.json", "linux/arm64"),
        ("grype/ci-klass-web--grype-report.json", "linux/arm64"),
        ("grype/defectdojo-grype--fix_available.json", "linux/amd64"),
        ("grype/defectdojo-grype--many_vulns2.json", "linux/amd64"),  # not in the target: in its config
        ("grype/defectdojo-grype--check_all_fields_with_ids_fabricated.json", ""),  # no config either
    ]:
        scan = read_report(name, (REAL / name).read_bytes())
        assert scan.image is not None and scan.image.platform == platform, name


def test_grouping_never_joins_two_image_ids() -> None:
    a = image_identity(_image_scan("app:1", "sha256:" + "1" * 64))
    b = image_identity(_image_scan("app:1"))  # no image ID: could be either
    c = image_identity(_image_scan("app:1", "sha256:" + "2" * 64))
    d = image_identity(_image_scan("other:1"))
    assert group_indices([a, b, c, d]) == [[0, 1], [2], [3]]


def test_one_tag_or_index_digest_of_two_platforms_is_two_images() -> None:
    # Reports without image IDs of a multi-architecture build: the tag and the index digest name every
    # platform's image. Grouped as one image, the arm64 findings were decided as the amd64 image's (its
    # platform, its waivers).
    index = ("ghcr.io/org/app@sha256:" + "4" * 64,)

    def ident(platform: str, digests: tuple[str, ...] = ()) -> ImageIdentity:
        image = Image(reference="ghcr.io/org/app:pr-7", platform=platform, repo_digests=digests)
        return image_identity(Scan(source=platform, scanner="trivy", image=image))

    amd64, arm64 = ident("linux/amd64"), ident("linux/arm64")
    assert not amd64.same_image(arm64) and amd64.same_repository(arm64)
    assert not ident("linux/amd64", index).same_image(ident("linux/arm64", index))
    assert amd64.same_image(ident("linux/x86_64")) and amd64.same_image(ident(""))  # one platform, or unknown
    assert group_indices([amd64, arm64, ident("linux/arm64/v8"), ident("")]) == [[0, 3], [1, 2]]


def test_real_reports_of_one_image_group_together() -> None:
    need_shared()
    names = [
        "trivy/trivy-integ--alpine-39.json",
        "trivy/trivy-integ--alpine-310.json",
        "trivy/trivy-integ--alpine-39-high-critical.json",
        "trivy/securecodebox-trivy--juice-shop-v12.10.2.json",
        "trivy/securecodebox-trivy--juice-shop-v12.10.2-empty-results.json",
    ]
    scans = [read_report(n, (REAL / n).read_bytes()) for n in names]
    assert group_indices([image_identity(s) for s in scans]) == [[0, 2], [1], [3, 4]]


@pytest.mark.parametrize(
    ("reference", "tag"),
    [
        ("alpine:3.19", "3.19"),
        ("alpine", ""),
        ("registry:5000/app", ""),  # a registry's port is no tag
        ("registry:5000/app:1.0@sha256:" + "a" * 64, "1.0"),
        ("app@sha256:abc", ""),  # a tag holds no '@'
    ],
)
def test_the_tag_of_a_reference(reference: str, tag: str) -> None:
    assert reference_tag(reference) == tag
