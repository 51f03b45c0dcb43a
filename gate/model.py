"""The normalized model every scanner report is read into.

Nothing here knows about a scanner's wire format, a policy or an output: ingest builds these
objects, the policy engine reads them, the renderers read them through the decision.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "NO_FIXED_VERSION",
    "Cvss",
    "Finding",
    "FindingKind",
    "FixState",
    "Image",
    "Layer",
    "Package",
    "ReportOs",
    "ReportTimes",
    "Scan",
    "Scanner",
    "Severity",
    "Suppression",
    "Vex",
    "VexStatus",
    "pypi_name",
]

Scanner = Literal["trivy", "grype"]


class Severity(str, enum.Enum):
    """Severity, ordered from UNKNOWN (lowest) to CRITICAL, so `s >= Severity.HIGH` reads naturally."""

    UNKNOWN = "UNKNOWN"
    NEGLIGIBLE = "NEGLIGIBLE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """0 for UNKNOWN up to 5 for CRITICAL."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str | None) -> Severity:
        """Map a scanner's severity word to a Severity; empty or unrecognised text is UNKNOWN."""
        if not text:
            return cls.UNKNOWN
        return _SEVERITY_WORDS.get(text.strip().upper(), cls.UNKNOWN)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}
_SEVERITY_WORDS = {s.value: s for s in Severity} | {"INFO": Severity.NEGLIGIBLE, "MODERATE": Severity.MEDIUM}


class FindingKind(str, enum.Enum):
    """What a finding is about."""

    VULNERABILITY = "vulnerability"
    SECRET = "secret"
    MISCONFIG = "misconfig"
    LICENSE = "license"


class FixState(str, enum.Enum):
    """Whether the scanner knows of a fix for a vulnerability."""

    FIXED = "fixed"
    """A fixed version exists (Trivy: non-empty FixedVersion; Grype: fix.state "fixed")."""
    NOT_FIXED = "not-fixed"
    """The vendor has no fix yet."""
    WONT_FIX = "wont-fix"
    """The vendor will not fix it (Trivy will_not_fix, fix_deferred, end_of_life)."""
    UNKNOWN = "unknown"
    """The scanner did not say."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Package(_Frozen):
    """The package a finding is in."""

    name: str
    """Package name as the scanner reports it (e.g. `openssl`, `golang.org/x/net`)."""
    version: str = ""
    """Installed version."""
    type: str = ""
    """Ecosystem or package type (`apk`, `deb`, `npm`, `gomod`, `python`, ...)."""
    purl: str = ""
    """Package URL when the scanner gives one."""
    path: str = ""
    """File the package was found in (lockfile, jar, binary), empty for OS packages."""
    types: tuple[str, ...] = Field(default=(), exclude=True)
    """Every package type the reports of a merged finding wrote, `type` first (Trivy's `alpine` and Grype's `apk`
    for one package), when they differ; empty otherwise. What `package_type` matches (`all_types`); not written
    to outputs, which show `type`."""

    purls: tuple[str, ...] = Field(default=(), exclude=True)
    """Every package URL the reports of a merged finding wrote, `purl` first, when they differ (Grype adds
    qualifiers Trivy leaves out); empty otherwise. What `purl` globs match (`all_purls`); not written to outputs,
    which show `purl`."""

    @property
    def all_types(self) -> tuple[str, ...]:
        """The package types a `package_type` glob is compared with: `types`, or `type` alone."""
        return self.types or (self.type,)

    @property
    def all_purls(self) -> tuple[str, ...]:
        """The package URLs a `purl` glob is compared with: `purls`, or `purl` alone."""
        return self.purls or (self.purl,)

    @property
    def ecosystem(self) -> str:
        """The ecosystem as package URLs name it (`apk`, `deb`, `rpm`, `npm`, `pypi`, `maven`, `golang`, ...): the
        package URL's type, else the scanner's package type translated, else that type as written (lower case)."""
        if self.purl.startswith("pkg:") and (end := self.purl.find("/", 4)) > 4:
            return self.purl[4:end].lower()
        kind = self.type.strip().lower()
        return _ECOSYSTEMS.get(kind, kind)


_SEPARATOR_RUNS = re.compile(r"[-_.]+")


def pypi_name(name: str) -> str:
    """A PyPI project name as PEP 503 normalises it (`Ruamel_YAML` -> `ruamel-yaml`): the spellings PyPI takes for
    one project compare equal."""
    # Most names have no separator to fold, and lower() alone is several times quicker than the regex.
    if "_" not in name and "." not in name and "--" not in name:
        return name.lower()
    return _SEPARATOR_RUNS.sub("-", name).lower()


# Package types as Trivy (Result.Type) and Grype (artifact.type) write them -> package URL type.
_ECOSYSTEMS: dict[str, str] = {
    **dict.fromkeys(("alpine", "apk", "wolfi", "chainguard", "minimos"), "apk"),
    **dict.fromkeys(("debian", "ubuntu", "deb", "distroless", "echo"), "deb"),
    **dict.fromkeys(
        (
            "redhat",
            "centos",
            "rocky",
            "alma",
            "oracle",
            "amazon",
            "fedora",
            "photon",
            "rpm",
            "cbl-mariner",
            "azurelinux",
            "opensuse",
            "opensuse-leap",
            "opensuse.leap",
            "opensuse-tumbleweed",
            "opensuse.tumbleweed",
            "sles",
            "suse linux enterprise server",
            "suse linux enterprise micro",
            "coreos",
        ),
        "rpm",
    ),
    **dict.fromkeys(("jar", "pom", "gradle", "sbt", "java-archive", "jenkins-plugin", "maven"), "maven"),
    **dict.fromkeys(("npm", "yarn", "pnpm", "bun", "node-pkg", "javascript"), "npm"),
    **dict.fromkeys(("gomod", "gobinary", "go-module", "golang", "go"), "golang"),
    **dict.fromkeys(("pip", "pipenv", "poetry", "uv", "pylock", "python-pkg", "python", "pypi"), "pypi"),
    **dict.fromkeys(("conda-pkg", "conda-environment", "conda"), "conda"),
    **dict.fromkeys(("bundler", "gemspec", "gem"), "gem"),
    **dict.fromkeys(("cargo", "rustbinary", "rust-binary", "rust-crate"), "cargo"),
    **dict.fromkeys(("composer", "composer-vendor", "php-composer"), "composer"),
    **dict.fromkeys(("nuget", "dotnet-core", "packages-props", "dotnet", "dotnet-deps"), "nuget"),
    **dict.fromkeys(("conan", "conan-lock"), "conan"),
    **dict.fromkeys(("hex", "mix-lock"), "hex"),
    **dict.fromkeys(("pub", "dart-pub"), "pub"),
    **dict.fromkeys(("swift", "swift-package"), "swift"),
    **dict.fromkeys(("cocoapods", "pod"), "cocoapods"),
}


class Cvss(_Frozen):
    """One CVSS score from one source."""

    source: str
    """Who scored it: `nvd`, `ghsa`, `redhat`, a distro, ..."""
    version: Literal["2", "3", "4"]
    score: float | None = None
    vector: str = ""
    third_party: bool = Field(default=False, exclude=True)
    """Scored by neither NVD nor the source the scanner took the finding's severity from: Trivy lists every
    source's scores (Red Hat's beside a Debian package's, its `SeveritySource`). `cvss_source = "vendor"` takes
    it only when neither the vendor nor NVD scored the finding. Only rules read it, on reports: not written to
    outputs or the decision record, which list every source's scores."""


class Layer(_Frozen):
    """The image layer a finding was found in."""

    digest: str = ""
    diff_id: str = ""
    created_by: str = ""


class Suppression(_Frozen):
    """The scanner itself suppressed this finding (Trivy ExperimentalModifiedFindings, Grype ignoredMatches)."""

    status: str = ""
    """`ignored` for an ignore rule (Trivy's ignore files, Grype's ignore rules); a VEX status (`not_affected`,
    `fixed`) for a VEX statement (the scanner's `--vex`, or the gate's); `filtered` for a false match Grype's
    own matching rules drop (its kernel-header rules)."""
    statement: str = ""
    """The reason the scanner's configuration gave."""
    source: str = ""
    """Where the suppression came from (`.trivyignore`, a VEX file, a Grype ignore rule)."""

    @property
    def by_ignore_rule(self) -> bool:
        """True for an ignore rule of the scanner's configuration, False for a VEX statement that suppresses
        (`not_affected`, `fixed`) and for Grype's own matching rules.

        Any other status (`affected`, `under_investigation`, a word no scanner writes) counts as an ignore rule,
        so a policy that does not honor ignore rules gates the finding rather than take it for a VEX statement.
        """
        return self.status not in _NOT_IGNORE_RULES


_NOT_IGNORE_RULES = frozenset({"not_affected", "fixed", "filtered"})


class VexStatus(str, enum.Enum):
    """A VEX statement's status (OpenVEX words; CycloneDX analysis states are mapped to these)."""

    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"


class Vex(_Frozen):
    """The VEX statement that applies to a finding (the latest one when several do)."""

    status: VexStatus
    justification: str = ""
    """OpenVEX justification or CycloneDX analysis.justification, e.g. `vulnerable_code_not_present`."""
    statement: str = ""
    """The statement's own words: impact or action statement, CycloneDX analysis.detail."""
    source: str = ""
    """The VEX file it came from."""


_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]+", re.IGNORECASE)


def _shown(text: str) -> str:
    """`text` without the blanks and invisible characters in it: the characters an output shows of an ID."""
    if text.isprintable() and " " not in text:  # the common case: nothing to drop
        return text
    return "".join(c for c in text if c.isprintable() and not c.isspace())


NO_FIXED_VERSION = "fixed (the report gives no fixed version)"
"""How outputs word a fix the scanner knows of without saying in which version (Trivy `Status: fixed`)."""


class Finding(_Frozen):
    """One thing a scanner found: a vulnerability in a package, a secret, a misconfiguration, a license."""

    kind: FindingKind
    id: str
    """CVE/GHSA/... for vulnerabilities, the rule ID for secrets and misconfigurations, the license name."""
    aliases: tuple[str, ...] = ()
    """Other IDs of the same vulnerability (GHSA <-> CVE, distro advisories)."""
    title: str = ""
    description: str = ""
    severity: Severity = Severity.UNKNOWN
    package: Package | None = None
    target: str = ""
    """What the scanner scanned to find it: Trivy's Target, a file path for secrets."""
    fix_state: FixState = FixState.UNKNOWN
    fixed_versions: tuple[str, ...] = ()
    cvss: tuple[Cvss, ...] = ()
    kev: bool | None = None
    """Known exploited (CISA KEV): True/False when the report says, None when it does not know."""
    epss: float | None = None
    """EPSS probability 0..1 when known."""
    epss_percentile: float | None = None
    risk: float | None = None
    """Grype's risk score, for display."""
    published: date | None = None
    fix_date: date | None = None
    """When the first fix became available (Grype `fix.available[].date`)."""
    layer: Layer | None = None
    url: str = ""
    """The scanner's primary advisory link (kept for reference; never rendered as a link)."""
    scanner: Scanner
    suppressed: Suppression | None = None
    vex: Vex | None = None
    """The VEX statement about this finding (`--vex`); not_affected and fixed also set `suppressed`."""
    found_by: tuple[Scanner, ...] = ()
    """Every scanner that reported it, when reports of one image were merged; empty means just `scanner`."""
    baseline: Literal["new", "existing"] | None = None
    """Against a baseline report: new, or already there; None when no baseline was given."""
    origin: Literal["base", "own"] | None = None
    """Which layers brought it in: the base image's or the image's own (gate.ingest.layers); None when unknown."""

    @property
    def fixable(self) -> bool:
        """True when a fixed version exists."""
        return self.fix_state is FixState.FIXED

    @property
    def all_ids(self) -> tuple[str, ...]:
        """The ID followed by its aliases."""
        return (self.id, *self.aliases)

    @property
    def cves(self) -> tuple[str, ...]:
        """The CVE IDs among the ID and aliases, upper case, once each (what KEV and EPSS know findings by).

        An ID is read as it shows: without blanks or invisible characters (` CVE-2021-44228\n`, a zero-width
        space). KEV and EPSS list the bare ID, and a finding they could not find counted as not known exploited.
        """
        return tuple(dict.fromkeys(c.upper() for c in map(_shown, self.all_ids) if _CVE.fullmatch(c)))

    def cves_left_out(self, named: Collection[str]) -> tuple[str, ...]:
        """The CVEs of an advisory finding that `named` (upper-case IDs) leaves out, sorted.

        Grype names an advisory (Amazon Linux's ALAS-...) and lists all its CVEs as aliases: what a waiver or a
        VEX statement says of some of them says nothing of the others. Empty when `named` names the finding
        itself, or when it covers fewer than two CVEs.
        """
        cves = {i.upper() for i in self.all_ids if i.upper().startswith("CVE-")}
        if self.id.upper() in named or len(cves) < 2:
            return ()
        return tuple(sorted(cves.difference(named)))

    @property
    def reported_by(self) -> tuple[Scanner, ...]:
        """The scanners that reported it: `found_by`, or just `scanner` for a finding of one report."""
        return self.found_by or (self.scanner,)


class Image(_Frozen):
    """What is known of the scanned image itself, from the report or from image metadata."""

    reference: str = ""
    """The image reference as given to the scanner (`alpine:3.19`, `ghcr.io/org/app@sha256:...`)."""
    image_id: str = ""
    """The config digest (`sha256:...`)."""
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    os: str = ""
    """Operating system family and version, e.g. `alpine 3.19.1`."""
    platform: str = ""
    """The platform the image is built for, `os/architecture[/variant]` as the image config or the scanner gives
    it (`linux/arm64/v8`); "" when either the OS or the architecture is not known."""
    config_known: bool = False
    """True when the image config (user, labels, env, ...) was available; the fields below are then real."""
    user: str | None = None
    """The config's User; None when the config has no User field."""
    labels: tuple[tuple[str, str], ...] = ()
    env: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    healthcheck: bool | None = None
    """True: the config has a HEALTHCHECK that runs (`CMD`, `CMD-SHELL`); False: it has none, or one that does not
    run (then `healthcheck_test` says why); None: not known (or inherited from the base: an empty test)."""
    healthcheck_test: str = ""
    """The test type of a HEALTHCHECK that does not run: `NONE`, or a type Docker does not know."""
    created: datetime | None = None
    created_unreadable: str = ""
    """The config's `created` as written when it is not a timestamp (then `created` is None)."""
    size: int | None = None
    """Uncompressed size in bytes."""
    diff_ids: tuple[str, ...] = ()
    """Layer DiffIDs, base first."""
    history: tuple[tuple[str, bool], ...] = ()
    """(created_by, empty_layer) per history entry, oldest first."""
    manifest_digest: str = ""
    """The manifest digest (`sha256:...`) when the metadata names it (podman/skopeo inspect, an index, Grype)."""
    annotations: tuple[tuple[str, str], ...] = ()
    """Manifest annotations (OCI builds keep `org.opencontainers.image.base.*` here rather than in labels)."""
    layer_digests: tuple[str, ...] = ()
    """Layer digests as the manifest lists them (compressed blobs), base first."""
    layer_sizes: tuple[int, ...] = ()
    """Compressed layer sizes in bytes from the manifest, base first (their sum is the registry size)."""
    base_layers: int | None = None
    """How many of the layers (base first) come from the base image, when the history shows it."""
    known: tuple[str, ...] = ()
    """Fields image metadata gave even though the full config was not known (skopeo inspect: labels, env)."""

    def label(self, name: str) -> str | None:
        """The value of label `name`, or None."""
        for key, value in self.labels:
            if key == name:
                return value
        return None

    def annotation(self, name: str) -> str | None:
        """The value of manifest annotation `name`, or None."""
        for key, value in self.annotations:
            if key == name:
                return value
        return None

    def has(self, field: str) -> bool:
        """True when config field `field` (`user`, `labels`, `env`, ...) is known for this image."""
        return self.config_known or field in self.known

    @property
    def layer_count(self) -> int | None:
        """Number of layers (DiffIDs, else manifest layers); None when unknown."""
        return len(self.diff_ids or self.layer_digests) or None


class ReportTimes(_Frozen):
    """When one report was made, and from how old a vulnerability database, as far as the report says."""

    source: str
    """The report (a path, or `-` for stdin)."""
    scanner: Scanner
    created: datetime | None = None
    """When the scanner wrote it (Trivy `CreatedAt`, Grype `descriptor.timestamp`); None when it does not say."""
    db_built: datetime | None = None
    """When the vulnerability database was built (Grype `descriptor.db`); None when unknown (Trivy never says)."""


class ReportOs(_Frozen):
    """What one report says of the operating system of the image it scanned, for the `unsupported-os` rule."""

    source: str
    """The report (a path, or `-` for stdin)."""
    scanner: Scanner
    name: str
    """`alpine 3.9.4`: the distribution and release as the report names them."""
    end_of_life: bool | None = None
    """True when the scanner says the release gets no more security fixes (Trivy `EOSL`, Grype's `distro-eol`
    alert), False when the scanner would have said so and did not, None when the report cannot tell (Grype
    without EOL alerts)."""
    packages_scanned: bool | None = None
    """False when the scanner left the OS packages unchecked (Trivy wrote no OS result; Grype's `distro-unknown`
    or `distro-disabled` alerts), True when Trivy wrote one, None when the report does not tell."""
    unscanned: int = 0
    """How many packages Grype's alerts name as unchecked (0 for Trivy, which does not count them)."""


class Scan(_Frozen):
    """One scanner report, normalized."""

    source: str
    """Where it was read from (a path, or `-` for stdin)."""
    scanner: Scanner
    scanner_version: str = ""
    artifact: str = ""
    """What was scanned: the image reference, a directory, a file."""
    artifact_type: str = ""
    """`container_image`, `filesystem`, `repository`, ... (Trivy ArtifactType; Grype source.type mapped)."""
    image: Image | None = None
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    """Things the reader noticed and skipped (log lines before the JSON, ...)."""
    sources: tuple[str, ...] = ()
    """Every report merged into this scan (gate.ingest.merge); empty for a single report (`source`)."""
    scanners: tuple[Scanner, ...] = ()
    """Every scanner of the merged reports; empty for a single report (`scanner`)."""
    intel_unavailable: tuple[str, ...] = ()
    """Feed flags given for the run (`--kev`, `--epss`) whose data could not be had; a note says why."""
    times: tuple[ReportTimes, ...] = ()
    """When each report (one, or every merged one) was made, for `max_report_age_days` and `max_db_age_days`."""
    os: tuple[ReportOs, ...] = ()
    """What each report that names the image's operating system says of it (the `unsupported-os` rule)."""

    @property
    def is_image(self) -> bool:
        """True when the scanned artifact is a container image."""
        return self.artifact_type in {"container_image", "image"}
