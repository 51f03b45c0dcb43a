"""--image-metadata: every supported form read from real files, everything else refused, attached by identity."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.ingest.metadata import Metadata, attach, attach_each, merge_image, read_metadata
from gate.model import Image, Scan
from tests.conftest import GENERATED, REAL, need_shared

IMAGES = (
    "a-root-implicit-secrets",
    "b-nonroot-labelled",
    "c-root-explicit-secret-files",
    "e-many-layers-big",
    "g-nobody-8080",
)
# file -> (form, carries the full config)
FORMS = {
    "podman-inspect.json": ("podman inspect", True),
    "buildah-inspect.json": ("buildah inspect", True),
    "skopeo-inspect-config.oci.json": ("OCI image config", True),
    "skopeo-inspect-config-raw.docker-archive.json": ("image config", True),
    "oci-config.json": ("OCI image config", True),
    "skopeo-inspect.oci.json": ("skopeo inspect", False),
    "skopeo-inspect.docker-archive.json": ("skopeo inspect", False),
    "oci-manifest.json": ("image manifest", False),
    "oci-index.json": ("image index", False),
    "docker-archive-manifest.json": ("docker save manifest", False),
}


def meta(directory: str, name: str) -> Metadata:
    path = GENERATED / directory / name
    return read_metadata(str(path), path.read_bytes())


def report(directory: str, name: str) -> Scan:
    path = GENERATED / directory / name
    return read_report(str(path), path.read_bytes())


@pytest.mark.parametrize("directory", IMAGES)
@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_generated_metadata_file_is_read_as_its_form(directory: str, name: str) -> None:
    need_shared()
    form, full = FORMS[name]
    metadata = meta(directory, name)
    assert form in metadata.form
    assert metadata.image.config_known is full
    if full:
        assert metadata.image.layer_count == {"e": 43, "c": 4, "a": 3}.get(directory[0], 2)


def test_podman_inspect_reads_the_top_level_fields_podman_keeps_there() -> None:
    need_shared()
    a = meta("a-root-implicit-secrets", "podman-inspect.json").image
    assert (a.user, a.labels, a.healthcheck, a.exposed_ports) == ("", (), False, ("22/tcp",))
    assert a.image_id == "sha256:5d4c4781b052901ad9202193691f2c33c38decc7f08c38a5b633e98795d59d6f"
    assert a.manifest_digest.startswith("sha256:60a39bcc")
    assert a.size == 2006554
    assert a.base_layers == 1
    b = meta("b-nonroot-labelled", "podman-inspect.json").image
    assert b.user == "10001:10001"
    assert b.healthcheck is True  # top-level Healthcheck, not under Config
    assert b.label("org.opencontainers.image.revision") == "e8f61b7ae614517bbf859e13511e88dbacf06f67"
    c = meta("c-root-explicit-secret-files", "podman-inspect.json").image
    assert c.annotation("org.opencontainers.image.base.name") == "localhost/imgdata-base:1"
    assert c.label("org.opencontainers.image.base.name") is None


def test_skopeo_inspect_without_config_knows_labels_and_env_but_not_the_user() -> None:
    need_shared()
    image = meta("a-root-implicit-secrets", "skopeo-inspect.oci.json").image
    assert not image.config_known
    assert image.has("labels") and image.has("env") and not image.has("user")
    assert image.labels == ()  # `Labels: null` means no labels
    assert any(e.startswith("PASSWORD=") for e in image.env)
    assert image.layer_count == 3


def test_oci_config_drops_the_healthcheck_that_the_docker_config_keeps() -> None:
    need_shared()
    assert meta("b-nonroot-labelled", "skopeo-inspect-config.oci.json").image.healthcheck is False
    assert (
        meta("b-nonroot-labelled", "skopeo-inspect-config-raw.docker-archive.json").image.healthcheck is True
    )


def test_manifest_index_and_docker_save_manifest_give_identity_and_layers() -> None:
    need_shared()
    manifest = meta("c-root-explicit-secret-files", "oci-manifest.json")
    assert manifest.image.image_id.startswith("sha256:b8d51cfc")
    assert sum(manifest.image.layer_sizes) == 1085838
    assert manifest.image.annotation(
        "org.opencontainers.image.base.digest",
    ).startswith("sha256:")  # type: ignore[union-attr]
    index = meta("c-root-explicit-secret-files", "oci-index.json")
    assert index.image.manifest_digest == index.digests[0]
    assert index.image.annotation("org.opencontainers.image.ref.name") == "1"
    save = meta("e-many-layers-big", "docker-archive-manifest.json")
    assert save.image.repo_tags == ("localhost/imgdata-e:1",)
    assert save.image.layer_count == 43


@pytest.mark.parametrize(
    "path", sorted((REAL / "other").glob("docker-inspect--*.json")), ids=lambda p: p.name
)
def test_real_docker_inspect_samples_run_as_root_by_default(path: Path) -> None:
    need_shared()
    metadata = read_metadata(str(path), path.read_bytes())
    assert metadata.form == "docker inspect"
    assert metadata.image.config_known
    assert metadata.image.user == ""
    assert metadata.image.image_id.startswith("sha256:")
    assert metadata.image.size is not None and metadata.image.size > 4_000_000
    assert metadata.image.platform == "linux/amd64"
    assert "platform" in metadata.image.known


def test_the_platform_is_known_from_os_and_architecture_with_the_variant_if_given() -> None:
    inspect = b'{"Id": "a", "Os": "linux", "Architecture": "arm", "Variant": "v7", "Config": {}}'
    assert read_metadata("i.json", inspect).image.platform == "linux/arm/v7"
    config = (
        b'{"os": "linux", "architecture": "arm64", "variant": "v8", "config": {}, "rootfs": {"diff_ids": []}}'
    )
    assert read_metadata("c.json", config).image.platform == "linux/arm64/v8"
    no_arch = b'{"os": "linux", "config": {}, "rootfs": {"diff_ids": []}}'
    assert read_metadata("c.json", no_arch).image.platform == ""
    odd = b'{"os": "linux", "architecture": "arm64/v8", "config": {}, "rootfs": {"diff_ids": []}}'
    assert read_metadata("c.json", odd).image.platform == ""


def test_real_fanal_config_and_registry_manifest() -> None:
    need_shared()
    config = REAL / "other" / "trivy-fanal--config-alpine310.json"
    image = read_metadata(str(config), config.read_bytes()).image
    assert (image.config_known, image.user, image.layer_count) == (True, "", 1)
    manifest = REAL / "other" / "trivy-fanal--image-manifest.json"
    image = read_metadata(str(manifest), manifest.read_bytes()).image
    assert image.image_id.startswith("sha256:2073e0bc")
    assert image.layer_count == 3


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"null", "null, not image metadata"),
        (b"42", "a number"),
        (b"[]", "empty list"),
        (b"{}", "not image metadata (top-level keys: none)"),
        (b'{"Id": "sha256:ab", "Config": {}', "ends early"),
        (b"FROM alpine:3.19\nUSER app\n", "not JSON"),
        (b"[" * 100_000, "nested too deeply"),
        (b'[{"Id": "a", "Config": {}}, {"Id": "b", "Config": {}}]', "holds 2 images"),
        (b'{"Id": "a", "Config": {}, "State": {"Running": true}}', "of a container, not of an image"),
        (b'{"SchemaVersion": 2, "Results": []}', "this is a scanner report"),
        (b'{"matches": [], "source": {}}', "this is a scanner report"),
        (b'[{"Target": "x", "Vulnerabilities": []}]', "Trivy report"),
        (b'{"version": "2.1.0", "runs": []}', "top-level keys: version, runs"),
        (b'{"schemaVersion": 1, "fsLayers": []}', "schema 1 manifest"),
        (b'{"schemaVersion": 2, "manifests": []}', "lists no manifests"),
        (
            b'{"schemaVersion": 2, "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",'
            b' "digest": "sha256:00"}, "layers": []}',
            "not of a container image",
        ),
        # The inspect output's own key names and JSON's words, not the validator's.
        (b'{"Id": "a", "Config": {"User": 0}}', "docker inspect: Config.User: expected text (got 0)"),
        (b'{"Id": "a", "Config": {"Labels": ["a"]}}', "Config.Labels: expected an object (got an array)"),
        (b'[{"Id": "a", "Config": "x"}]', "docker inspect: Config: expected an object (got 'x')"),
        (b'{"Id": "a", "Config": {}, "RootFS": {"Layers": [1]}}', "RootFS.Layers[0]: expected text (got 1)"),
        (
            b'{"os": "linux", "rootfs": {}, "history": [1]}',
            "image config: history[0]: expected an object (got 1)",
        ),
        (b'{"os": "linux", "config": {"Env": "A=b"}}', "config.Env"),
        (b'{"Type": "buildah 0.0.1", "Container": "work", "Config": "{}"}', "working container"),
        (b'{"Type": "buildah 0.0.1", "Config": "{not json"}', "Config is not JSON"),
        # json reads a number of more than 4,300 digits as an error that is not a JSONDecodeError
        (b'{"Type": "buildah 0.0.1", "Config": "' + b"1" * 5000 + b'"}', "Config is not JSON"),
        (b'{"Id": "a", "Config": {}, "Size": ' + b"1" * 5000 + b"}", "not JSON (a number too long to read)"),
        (
            b'{"architecture": "amd64", "os": "linux", "size": 1, "layers": [{"layerHash": ""}]}',
            "not image metadata",
        ),
    ],
)
def test_anything_else_is_refused_with_one_line(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as caught:
        read_metadata("meta.json", data)
    message = str(caught.value)
    assert words in message
    assert message.startswith("meta.json: ")
    assert "\n" not in message
    assert "should be" not in message.lower() and "instance of" not in message


def test_utf16_metadata_with_bom_is_read() -> None:
    text = json.dumps([{"Id": "sha256:" + "a" * 64, "Config": {"User": "app"}}])
    metadata = read_metadata("m.json", b"\xff\xfe" + text.encode("utf-16-le"))
    assert metadata.image.user == "app"


def test_keys_in_refusals_are_printable_and_short() -> None:
    weird = json.dumps({"\x1b[31mred": 1, "k" * 200: 2}).encode()
    with pytest.raises(InputError) as caught:
        read_metadata("m.json", weird)
    assert "\x1b" not in str(caught.value)
    assert len(str(caught.value)) < 400


# --- attaching ---------------------------------------------------------------------------------------------


def bare_report(**image: object) -> Scan:
    return Scan(
        source="r.json",
        scanner="trivy",
        artifact="registry.example/app:1",
        artifact_type="container_image",
        image=Image(reference="registry.example/app:1", **image) if image else None,  # type: ignore[arg-type]
    )


def test_metadata_wins_over_what_the_report_embeds() -> None:
    scan = bare_report(config_known=True, user="app", image_id="sha256:" + "1" * 64, size=5)
    metadata = read_metadata(
        "m.json", json.dumps({"Id": "sha256:" + "1" * 64, "Config": {"User": "root"}, "Size": 9}).encode()
    )
    [merged] = attach([scan], metadata)
    assert merged.image is not None
    assert (merged.image.user, merged.image.size) == ("root", 9)
    assert merged.image.reference == "registry.example/app:1"  # what was scanned stays


def test_a_report_and_metadata_of_one_image_id_that_disagree_are_named_in_a_note() -> None:
    image_id = "sha256:" + "1" * 64
    scan = bare_report(config_known=True, user="app", image_id=image_id, labels=(("a", "1"),))
    document = {"Id": image_id, "Config": {"User": "root", "Labels": {"a": "2"}, "Env": []}}
    [merged] = attach([scan], read_metadata("m.json", json.dumps(document).encode()))
    assert merged.warnings == (
        "m.json and r.json give the image a different user, labels; the gate used the docker inspect's (both name "
        "one image, so one of the files was edited or misread)",
    )
    same = {"Id": image_id, "Config": {"User": "app", "Labels": {"a": "1"}}}
    [merged] = attach([scan], read_metadata("m.json", json.dumps(same).encode()))
    assert merged.warnings == ()


def test_one_image_read_by_trivy_and_by_inspect_tools_agrees() -> None:
    """No note for the real metadata of a scanned image: an absent and an empty User are one config, and a
    copy converted to OCI (which drops Healthcheck) has another image ID, so it is not compared."""
    need_shared()
    pairs = [
        ("a-root-implicit-secrets", "trivy.docker-archive.json", "podman-inspect.json"),
        ("a-root-implicit-secrets", "trivy.docker-archive.json", "buildah-inspect.json"),
        ("a-root-implicit-secrets", "trivy.oci.json", "skopeo-inspect-config-raw.docker-archive.json"),
        ("g-nobody-8080", "trivy.docker-archive.json", "oci-config.json"),
        ("g-nobody-8080", "trivy.docker-archive.json", "podman-inspect.json"),
    ]
    for directory, report_name, metadata_name in pairs:
        [merged] = attach([report(directory, report_name)], meta(directory, metadata_name))
        notes = [w for w in merged.warnings if "give the image a different" in w]
        assert notes == [], (directory, metadata_name)


def test_partial_metadata_keeps_what_the_report_knows() -> None:
    scan = bare_report(config_known=True, user="app", labels=(("a", "1"),))
    metadata = read_metadata(
        "m.json", json.dumps({"Digest": "sha256:" + "2" * 64, "Layers": [], "Labels": {"b": "2"}}).encode()
    )
    image = merge_image(scan.image, metadata.image)  # type: ignore[arg-type]
    assert image.user == "app"
    assert image.labels == (("b", "2"),)
    assert image.config_known


def test_metadata_of_another_image_is_refused() -> None:
    need_shared()
    scan = report("a-root-implicit-secrets", "trivy.oci.json")
    with pytest.raises(InputError) as caught:
        attach([scan], meta("a-root-implicit-secrets", "podman-inspect.json"))
    message = str(caught.value)
    assert "another image" in message
    assert "sha256:5d4c4781b052" in message and "sha256:0cb6e1764f01" in message
    with pytest.raises(InputError, match="another image"):
        attach(
            [report("b-nonroot-labelled", "trivy.docker-archive.json")],
            meta("a-root-implicit-secrets", "oci-config.json"),
        )


@pytest.mark.parametrize(
    ("report_name", "metadata_name"),
    [
        ("trivy.docker-archive.json", "podman-inspect.json"),
        ("trivy.docker-archive.json", "buildah-inspect.json"),
        ("trivy.docker-archive.json", "skopeo-inspect-config-raw.docker-archive.json"),
        ("trivy.docker-archive.json", "docker-archive-manifest.json"),
        ("trivy.oci.json", "oci-config.json"),
        ("trivy.oci.json", "oci-manifest.json"),
        ("trivy.oci.json", "skopeo-inspect-config.oci.json"),
    ],
)
def test_metadata_of_the_same_image_is_accepted(report_name: str, metadata_name: str) -> None:
    need_shared()
    [merged] = attach([report("g-nobody-8080", report_name)], meta("g-nobody-8080", metadata_name))
    assert merged.image is not None and merged.image.user == "nobody"


def test_a_config_of_the_same_layers_but_another_build_is_refused() -> None:
    """USER, ENV, LABEL and EXPOSE add no layer: without image IDs, only the configs tell two builds apart."""
    layers = ("sha256:" + "5" * 64,)
    scan = bare_report(config_known=True, user="1000", env=("A=1",), diff_ids=layers, healthcheck=False)

    def config(**run: object) -> Metadata:
        document = {"rootfs": {"type": "layers", "diff_ids": list(layers)}, "config": {"Env": ["A=1"], **run}}
        return read_metadata("config.json", json.dumps(document).encode())

    with pytest.raises(
        InputError, match=r"another image than r\.json \(the same layers but another user, as a"
    ):
        attach([scan], config())  # the build without USER
    with pytest.raises(InputError, match="the same layers but another env"):
        attach([scan], config(User="1000", Env=["A=2"]))
    built = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dated = bare_report(config_known=True, user="1000", env=("A=1",), diff_ids=layers, created=built)
    document = {"created": "2026-02-01T00:00:00Z", "rootfs": {"type": "layers", "diff_ids": list(layers)}}
    document["config"] = {"Env": ["A=1"], "User": "1000"}
    rebuilt = read_metadata("config.json", json.dumps(document).encode())
    with pytest.raises(InputError, match=r"the same layers but another created date,"):
        attach([dated], rebuilt)
    [merged] = attach([scan], config(User="1000"))
    assert merged.image is not None and merged.image.user == "1000"
    # A Docker-format copy keeps the healthcheck its OCI copy dropped: the same build, so it is taken.
    [merged] = attach([scan], config(User="1000", Healthcheck={"Test": ["CMD", "true"]}))
    assert merged.image is not None and merged.image.healthcheck is True


def test_a_config_of_the_same_layers_for_another_platform_is_refused() -> None:
    """A reproducible multi-architecture build (`buildah commit --timestamp 0`) of architecture-free files gives
    its amd64 and arm64 images the same layers, user and date: the arm64 config was taken for the amd64 report,
    and the record then said linux/arm64. Seen with real buildah, skopeo inspect --config and trivy."""
    layers = ("sha256:" + "5" * 64,)
    scan = bare_report(config_known=True, user="1000", diff_ids=layers, platform="linux/amd64")

    def config(architecture: str, variant: str = "") -> Metadata:
        document = {"architecture": architecture, "os": "linux", "config": {"User": "1000"}}
        document |= {"rootfs": {"type": "layers", "diff_ids": list(layers)}}
        if variant:
            document["variant"] = variant
        return read_metadata("config.json", json.dumps(document).encode())

    with pytest.raises(
        InputError,
        match=r"another image than r\.json \(it is for linux/arm64/v8, the report's image for linux/amd64\)",
    ):
        attach([scan], config("arm64", "v8"))
    [merged] = attach([scan], config("amd64"))
    assert merged.image is not None and merged.image.platform == "linux/amd64"
    # aliases and a default variant only one side gives are the same platform
    arm = bare_report(config_known=True, user="1000", diff_ids=layers, platform="linux/aarch64")
    [merged] = attach([arm], config("arm64", "v8"))
    assert merged.image is not None and merged.image.platform == "linux/arm64/v8"
    # different image IDs: the platform is the clearer reason
    ided = bare_report(image_id="sha256:" + "1" * 64, platform="linux/amd64")
    other = {"Id": "sha256:" + "2" * 64, "Os": "linux", "Architecture": "arm", "Variant": "v7", "Config": {}}
    with pytest.raises(
        InputError,
        match=r"image ID sha256:222222222222, the report's is sha256:111111111111; it is"
        r" for linux/arm/v7, the report's image for linux/amd64\)",
    ):
        attach([ided], read_metadata("inspect.json", json.dumps([other]).encode()))


def test_skopeo_inspect_gives_the_platform() -> None:
    # skopeo 1.9 prints Os and Architecture (no Variant); newer ones add Variant
    document = {"Digest": "sha256:" + "4" * 64, "Layers": [], "Os": "linux", "Architecture": "arm64"}
    assert read_metadata("m.json", json.dumps(document).encode()).image.platform == "linux/arm64"
    document["Variant"] = "v8"
    assert read_metadata("m.json", json.dumps(document).encode()).image.platform == "linux/arm64/v8"


def test_digest_mismatch_without_ids_is_refused_and_a_match_is_not() -> None:
    scan = bare_report(repo_digests=("registry.example/app@sha256:" + "3" * 64,))
    other = read_metadata("m.json", json.dumps({"Digest": "sha256:" + "4" * 64, "Layers": []}).encode())
    with pytest.raises(InputError, match="manifest digest sha256:444444444444"):
        attach([scan], other)
    same = read_metadata("m.json", json.dumps({"Digest": "sha256:" + "3" * 64, "Layers": []}).encode())
    assert attach([scan], same)[0].image is not None


@pytest.mark.parametrize("metadata_name", ["skopeo-inspect.docker-archive.json", "oci-index.json"])
def test_metadata_that_shares_nothing_to_compare_with_the_report_is_refused(metadata_name: str) -> None:
    # A tarball's report names its image ID and layers; skopeo inspect and an index name neither, only a
    # manifest digest the report lacks. Another image's labels and env would replace the scanned image's.
    need_shared()
    scan = report("a-root-implicit-secrets", "trivy.docker-archive.json")
    for image in ("b-nonroot-labelled", "a-root-implicit-secrets"):  # another image's, and even its own
        with pytest.raises(InputError, match="nothing in common to compare"):
            attach([scan], meta(image, metadata_name))


def test_docker_inspect_id_that_is_the_index_digest_matches_the_repo_digest() -> None:
    # Docker with the containerd image store reports the index digest as Id.
    index = ("app@sha256:" + "6" * 64,)
    scan = bare_report(image_id="sha256:" + "5" * 64, repo_digests=index)
    metadata = read_metadata("m.json", json.dumps([{"Id": "sha256:" + "6" * 64, "Config": {}}]).encode())
    assert attach([scan], metadata)[0].image is not None
    # The index names every platform of the image: the inspect of the arm64 image is not the amd64 image's.
    amd64 = bare_report(image_id="sha256:" + "5" * 64, repo_digests=index, platform="linux/amd64")
    arm64 = [{"Id": "sha256:" + "6" * 64, "Os": "linux", "Architecture": "arm64", "Config": {}}]
    with pytest.raises(InputError, match=r"\(it is for linux/arm64, the report's image for linux/amd64\)"):
        attach([amd64], read_metadata("m.json", json.dumps(arm64).encode()))
    arm64[0]["Architecture"] = "amd64"
    assert attach([amd64], read_metadata("m.json", json.dumps(arm64).encode()))[0].image is not None


def test_report_without_image_facts_takes_the_metadata_and_becomes_an_image_scan() -> None:
    scan = Scan(source="r.json", scanner="trivy", artifact="app:1")
    metadata = read_metadata(
        "m.json", json.dumps([{"Id": "x", "Config": {"User": ""}, "RepoTags": ["app:1"]}]).encode()
    )
    [merged] = attach([scan], metadata)
    assert merged.is_image and merged.image is not None and merged.image.user == ""


def test_metadata_with_only_directory_scans_is_refused() -> None:
    directory = Scan(source="r.json", scanner="grype", artifact=".", artifact_type="directory")
    metadata = read_metadata("m.json", b'{"os": "linux", "config": {}}')
    with pytest.raises(InputError, match="none of the reports is of a container image"):
        attach([directory], metadata)


# --- one file per image (--image-metadata repeated) --------------------------------------------------------

LAYERS = ("sha256:" + "5" * 64,)
"""A reproducible multi-architecture build of architecture-free files: every platform's image has these layers."""


def platform_report(
    platform: str, source: str, scanner: Literal["trivy", "grype"] = "trivy", **image: object
) -> Scan:
    return Scan(
        source=source,
        scanner=scanner,
        artifact="registry.example/app:1",
        artifact_type="container_image",
        image=Image(reference="registry.example/app:1", platform=platform, diff_ids=LAYERS, **image),  # type: ignore[arg-type]
    )


def platform_config(source: str, architecture: str, user: str, variant: str = "") -> Metadata:
    document: dict[str, object] = {"architecture": architecture, "os": "linux", "config": {"User": user}}
    document["rootfs"] = {"type": "layers", "diff_ids": list(LAYERS)}
    if variant:
        document["variant"] = variant
    return read_metadata(source, json.dumps(document).encode())


def platform_inspect(source: str, image_id: str, architecture: str, user: str) -> Metadata:
    document = [{"Id": image_id, "Os": "linux", "Architecture": architecture, "Config": {"User": user}}]
    return read_metadata(source, json.dumps(document).encode())


@pytest.mark.parametrize("reverse_reports", [False, True])
@pytest.mark.parametrize("reverse_files", [False, True])
def test_each_platform_report_takes_the_config_of_its_platform(
    reverse_reports: bool, reverse_files: bool
) -> None:
    """Same layers, user and date on every platform: only the platform tells the configs apart. The Trivy and
    the Grype report of one image take the same file."""
    scans = [
        platform_report("linux/amd64", "amd64.trivy.json"),
        platform_report("linux/amd64", "amd64.grype.json", scanner="grype"),
        platform_report("linux/arm64", "arm64.trivy.json"),
    ]
    files = [
        platform_config("amd64.config.json", "amd64", "1000"),
        platform_config("arm64.config.json", "arm64", "0", "v8"),
    ]
    scans = scans[::-1] if reverse_reports else scans
    files = files[::-1] if reverse_files else files
    merged = attach_each(scans, files)
    seen = {scan.source: (scan.image.platform, scan.image.user) for scan in merged if scan.image is not None}
    assert seen == {
        "amd64.trivy.json": ("linux/amd64", "1000"),
        "amd64.grype.json": ("linux/amd64", "1000"),
        "arm64.trivy.json": ("linux/arm64/v8", "0"),
    }


@pytest.mark.parametrize("reverse", [False, True])
def test_each_image_report_takes_the_docker_inspect_of_its_image_id(reverse: bool) -> None:
    amd, arm = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    scans = [
        platform_report("linux/amd64", "amd64.json", image_id=amd),
        platform_report("", "arm64.json", image_id=arm),
    ]
    files = [
        platform_inspect("amd64.inspect.json", amd, "amd64", "app"),
        platform_inspect("arm64.inspect.json", arm, "arm64", ""),
    ]
    merged = attach_each(scans, files[::-1] if reverse else files)
    assert [(s.image.platform, s.image.user) for s in merged if s.image is not None] == [
        ("linux/amd64", "app"),
        ("linux/arm64", ""),
    ]


def test_one_file_is_attach_with_its_messages() -> None:
    scan = platform_report("linux/amd64", "r.json")
    config = platform_config("config.json", "amd64", "1000")
    assert attach_each([scan], [config]) == attach([scan], config)
    other = platform_config("config.json", "arm64", "1000", "v8")
    with pytest.raises(InputError) as each:
        attach_each([scan], [other])
    with pytest.raises(InputError) as one:
        attach([scan], other)
    assert str(each.value) == str(one.value)
    assert (
        "config.json: is the OCI image config of another image than r.json (it is for linux/arm64/v8"
        in str(one.value)
    )
    assert attach_each([scan], []) == [scan]


def test_a_report_several_files_could_be_of_is_refused_saying_what_would_tell_them_apart() -> None:
    files = [
        platform_config("amd64.config.json", "amd64", "1000"),
        platform_config("arm64.config.json", "arm64", "1000"),
    ]
    unplaced = platform_report("", "r.json")  # the same layers, and no platform
    with pytest.raises(InputError) as caught:
        attach_each([unplaced], files)
    assert str(caught.value) == (
        "r.json: the image metadata amd64.config.json and arm64.config.json could each be of its image; the "
        "report gives no platform, in which they differ: scan the image itself (trivy image, grype IMAGE) so its "
        "report names it, or gate this report in a run with its own file"
    )
    # A report that names nothing of its image could be of any file's.
    bare = Scan(source="bare.json", scanner="trivy", artifact="app:1")
    with pytest.raises(InputError) as caught:
        attach_each([bare], files)
    assert str(caught.value).startswith(
        "bare.json: the image metadata amd64.config.json and arm64.config.json could each be of its image; the "
        "report gives no platform, in which they differ"
    )
    inspects = [
        platform_inspect("a.json", "sha256:" + "a" * 64, "amd64", ""),
        platform_inspect("b.json", "sha256:" + "b" * 64, "arm64", ""),
    ]
    with pytest.raises(InputError, match="the report gives no image ID or platform, in which they differ"):
        attach_each([bare], inspects)
    # Two files of one image: nothing could tell them apart.
    twice = [files[0], platform_config("copy.json", "amd64", "1000")]
    with pytest.raises(
        InputError, match=r"could each be of its image; they are of one image: give one metadata"
    ):
        attach_each([platform_report("linux/amd64", "r.json")], twice)


def test_a_file_of_no_reports_image_is_refused_naming_it() -> None:
    scans = [platform_report("linux/amd64", "amd64.json"), platform_report("linux/amd64", "amd64.grype.json")]
    files = [
        platform_config("amd64.config.json", "amd64", "1000"),
        platform_config("armv7.config.json", "arm", "1000", "v7"),
    ]
    with pytest.raises(InputError) as caught:
        attach_each(scans, files)
    assert str(caught.value) == (
        "armv7.config.json: the OCI image config is of none of the images of the reports (amd64.json: it is for "
        "linux/arm/v7, the report's image for linux/amd64; amd64.grype.json: it is for linux/arm/v7, the report's "
        "image for linux/amd64); give the metadata of the images the run checks, one file per image"
    )


def test_an_image_report_without_a_file_of_its_image_is_refused_naming_it() -> None:
    """With one file every image report must be of its image: with several, none is decided without its own."""
    scans = [platform_report("linux/amd64", "amd64.json"), platform_report("linux/arm64", "arm64.json")]
    files = [
        platform_config("amd64.config.json", "amd64", "1000"),
        platform_config("copy.json", "amd64", "1000"),
    ]
    with pytest.raises(InputError, match="they are of one image"):
        attach_each(scans, files)  # a copy of one file is two files of one image, not the other platform's
    scans.append(platform_report("linux/s390x", "s390x.json"))
    files = [files[0], platform_config("arm64.config.json", "arm64", "1000")]
    with pytest.raises(InputError) as caught:
        attach_each(scans, files)
    assert str(caught.value) == (
        "s390x.json: none of the image metadata files is of its image (amd64.config.json: it is for linux/amd64, "
        "the report's image for linux/s390x; arm64.config.json: it is for linux/arm64, the report's image for "
        "linux/s390x); give one file per image the run checks, or gate this report in a run of its own"
    )


def test_the_notes_of_each_file_name_that_file_and_its_reports() -> None:
    amd, arm = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    scans = [
        platform_report("linux/amd64", "amd64.json", image_id=amd, user="app", config_known=True),
        platform_report("linux/arm64", "arm64.json", image_id=arm, user="app", config_known=True),
    ]
    files = [
        platform_inspect("arm64.inspect.json", arm, "arm64", "root"),
        platform_inspect("amd64.inspect.json", amd, "amd64", "app"),
    ]
    amd64, arm64 = attach_each(scans, files)
    assert amd64.warnings == ()
    assert arm64.warnings == (
        "arm64.inspect.json and arm64.json give the image a different user; the gate used the docker inspect's "
        "(both name one image, so one of the files was edited or misread)",
    )


def test_several_files_with_only_directory_scans_are_refused_naming_them() -> None:
    directory = Scan(source="r.json", scanner="grype", artifact=".", artifact_type="directory")
    files = [platform_config("a.json", "amd64", "1"), platform_config("b.json", "arm64", "1")]
    with pytest.raises(InputError, match=r"^a\.json, b\.json: none of the reports is of a container image"):
        attach_each([directory], files)


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"Id": "sha256:" + "1" * 64, "Config": {}, "Size": -1}, r"Size"),
        ({"Name": "a", "Digest": "sha256:" + "2" * 64, "Layers": ["sha256:" + "3" * 64],
          "LayersData": [{"Digest": "sha256:" + "3" * 64, "Size": -5}]},
         r"LayersData\[0\]\.Size"),
        ({"schemaVersion": 2, "config": {"digest": "sha256:" + "4" * 64, "size": 10},
          "layers": [{"digest": "sha256:" + "5" * 64, "size": -5}]}, r"layers\[0\]\.size"),
    ],
)  # fmt: skip
def test_a_negative_size_in_image_metadata_is_refused(document: dict[str, object], where: str) -> None:
    # A negative image or layer size would pass any image-size limit.
    with pytest.raises(InputError, match=rf"^m\.json: .*({where}).*must be at least 0"):
        read_metadata("m.json", json.dumps(document).encode())
