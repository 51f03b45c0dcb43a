"""Generate synthetic Trivy and Grype image reports of a given size, shaped like real ones, for `make bench`.

The shape follows real reports (Trivy 0.69 `--format json` of a Debian image with language packages; Grype
0.10x `-o json` with EPSS, KEV, risk, related NVD records and an embedded base64 image config). Content is
made up but realistic in proportion: advisories are shared between packages (as openssl/libssl3 share
CVEs), severities and fix states are mixed, descriptions run from one line to a few paragraphs.

Beside each Trivy report goes a vendor's OpenVEX document about it (`*.vex.json`): one statement per eighth
advisory, saying a Go binary of the image holds the affected module but not the vulnerable code.

Everything comes from one seeded RNG, so the same size and seed give byte-identical files.

    python bench/generate.py [--out bench/out] [--sizes 10,100] [--seed 2026]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_core import to_json

__all__ = [
    "DEFAULT_SEED",
    "MB",
    "Report",
    "ensure_reports",
    "grype_report",
    "trivy_report",
    "vendor_vex",
    "write_report",
]

MB = 1_000_000
DEFAULT_SEED = 2026
GENERATOR_VERSION = "1"  # bump when the output changes, so cached files are regenerated

Json = dict[str, Any]

# --- vocabulary ------------------------------------------------------------------------------------------


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_OS_PACKAGES = _split(
    "apt bash binutils bsdutils coreutils curl dpkg e2fsprogs findutils gcc-12-base gpgv grep gzip hostname "
    "init-system-helpers libacl1 libapt-pkg6.0 libattr1 libaudit1 libblkid1 libbz2-1.0 libc-bin libc6 "
    "libcap-ng0 libcap2 libcom-err2 libcrypt1 libcurl4 libdb5.3 libdebconfclient0 libexpat1 libext2fs2 "
    "libffi8 libfreetype6 libgcc-s1 libgcrypt20 libgmp10 libgnutls30 libgpg-error0 libgssapi-krb5-2 "
    "libhogweed6 libidn2-0 libjpeg62-turbo libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 "
    "libldap-2.5-0 liblz4-1 liblzma5 libmd0 libmount1 libncursesw6 libnettle8 libnghttp2-14 libp11-kit0 "
    "libpam-modules libpam-runtime libpam0g libpcre2-8-0 libpng16-16 libpsl5 librtmp1 libsasl2-2 "
    "libseccomp2 libselinux1 libsemanage2 libsepol2 libsmartcols1 libsqlite3-0 libss2 libssh2-1 libssl3 "
    "libstdc++6 libsystemd0 libtasn1-6 libtiff6 libtinfo6 libudev1 libunistring2 libuuid1 libwebp7 "
    "libxml2 libxslt1.1 libzstd1 login logsave mawk mount ncurses-base ncurses-bin openssl passwd perl-base "
    "sed sensible-utils sysvinit-utils tar tzdata util-linux zlib1g"
)
_NPM = _split(
    "lodash express body-parser qs minimist axios follow-redirects semver tough-cookie ws jsonwebtoken "
    "moment node-fetch path-to-regexp send serve-static cookie debug ip braces micromatch tar glob-parent "
    "json5 word-wrap xml2js undici postcss nth-check"
)
_PYPI = _split(
    "requests urllib3 idna certifi cryptography jinja2 werkzeug flask django pillow pyyaml setuptools pip "
    "aiohttp sqlparse gunicorn paramiko lxml numpy protobuf grpcio starlette fastapi python-multipart"
)
_MAVEN = _split(
    "org.springframework:spring-core org.springframework:spring-web "
    "com.fasterxml.jackson.core:jackson-databind "
    "org.apache.logging.log4j:log4j-core org.yaml:snakeyaml io.netty:netty-handler io.netty:netty-codec-http "
    "org.apache.tomcat.embed:tomcat-embed-core com.google.protobuf:protobuf-java commons-io:commons-io "
    "org.apache.commons:commons-compress ch.qos.logback:logback-core com.h2database:h2 org.json:json"
)
_GO = _split(
    "golang.org/x/net golang.org/x/crypto golang.org/x/text google.golang.org/grpc "
    "google.golang.org/protobuf "
    "github.com/golang-jwt/jwt/v4 github.com/docker/docker github.com/opencontainers/runc stdlib "
    "github.com/containerd/containerd gopkg.in/yaml.v3 github.com/hashicorp/go-retryablehttp"
)
_WORDS = _split(
    "buffer overflow heap stack use-after-free out-of-bounds read write integer underflow null pointer "
    "dereference race condition denial service regular expression crafted request header cookie certificate "
    "validation bypass path traversal injection deserialization untrusted input memory exhaustion infinite "
    "loop resource consumption authentication authorization session token redirect cross-site scripting "
    "server-side forgery parser decoder encoder archive symlink permission privilege escalation remote code "
    "execution information disclosure timing side channel padding oracle signature verification handshake "
    "renegotiation compression decompression chunked encoding proxy upstream downstream cache poisoning"
)
_FUNCTIONS = _split(
    "ssl3_read_bytes X509_verify_cert png_read_row xmlParseCharRef inflate ParseHeader tar_extract "
    "url_parse decode_base64 readline realpath getaddrinfo regexec ASN1_item_d2i gz_decomp"
)
_ATTACKERS = ("remote attackers", "local users", "authenticated users", "a malicious server", "an attacker")
_IMPACTS = (
    "cause a denial of service (crash)",
    "execute arbitrary code",
    "obtain sensitive information",
    "bypass intended access restrictions",
    "cause excessive memory consumption",
    "write files outside the intended directory",
    "spoof certificates",
    "inject arbitrary web script or HTML",
)
_REF_HOSTS = (
    "https://access.redhat.com/security/cve/{cve}",
    "https://nvd.nist.gov/vuln/detail/{cve}",
    "https://security-tracker.debian.org/tracker/{cve}",
    "https://ubuntu.com/security/notices/USN-{n}-1",
    "https://www.cve.org/CVERecord?id={cve}",
    "https://lists.debian.org/debian-lts-announce/{y}/0{m}/msg000{n2}.html",
    "https://github.com/{proj}/{proj}/commit/{sha}",
    "https://github.com/{proj}/{proj}/issues/{n}",
    "https://security.netapp.com/advisory/ntap-{y}0{m}1{n2}-0001/",
    "https://www.openwall.com/lists/oss-security/{y}/0{m}/1{n2}/1",
    "https://bugzilla.redhat.com/show_bug.cgi?id={n}{n2}",
    "https://linux.oracle.com/errata/ELSA-{y}-{n}.html",
    "https://www.debian.org/security/{y}/dsa-{n}",
    "https://security.gentoo.org/glsa/{y}0{m}-{n2}",
    "https://cert-portal.siemens.com/productcert/pdf/ssa-{n}.pdf",
)
_VENDORS = ("nvd", "redhat", "debian", "ubuntu", "amazon", "oracle-oval", "photon", "ghsa", "bitnami")
_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
_SEVERITY_WEIGHTS = (6, 22, 40, 26, 6)
_SCORE_RANGE = {"CRITICAL": (9.0, 10.0), "HIGH": (7.0, 8.9), "MEDIUM": (4.0, 6.9), "LOW": (0.1, 3.9)}
_VENDOR_NUMBER = {"UNKNOWN": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
_TRIVY_STATUS = ("fixed", "affected", "will_not_fix", "fix_deferred", "end_of_life", "under_investigation")
_TRIVY_STATUS_WEIGHTS = (52, 30, 9, 5, 2, 2)
_GRYPE_STATE = {
    "fixed": "fixed",
    "affected": "not-fixed",
    "will_not_fix": "wont-fix",
    "fix_deferred": "wont-fix",
    "end_of_life": "wont-fix",
    "under_investigation": "unknown",
}


# --- the shared content: an image, its packages and the advisories that hit them ---------------------------


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _sha(rng: random.Random) -> str:
    return "sha256:" + _hex(rng, 64)


@dataclass(frozen=True)
class _Package:
    name: str
    version: str
    ecosystem: str  # debian, npm, pypi, maven, go
    path: str
    layer: int
    uid: str


@dataclass(frozen=True)
class _Advisory:
    id: str
    cve: str
    severity: str
    title: str
    description: str
    cwes: tuple[str, ...]
    cvss: dict[str, Json]
    vendor_severity: dict[str, int]
    references: tuple[str, ...]
    published: str
    modified: str
    epss: float
    percentile: float
    kev: bool


@dataclass
class _World:
    """The image and everything the two scanners say about it; both report formats render from this."""

    rng: random.Random
    image_ref: str
    image_id: str
    manifest_digest: str
    layers: list[tuple[str, str, int]]  # digest, diff id, size
    config: Json
    packages: list[_Package] = field(default_factory=list)
    advisories: list[_Advisory] = field(default_factory=list)
    _cve_counter: int = 0

    def package(self) -> _Package:
        rng = self.rng
        ecosystem = rng.choices(("debian", "npm", "pypi", "maven", "go"), (50, 20, 12, 10, 8))[0]
        base = {"debian": _OS_PACKAGES, "npm": _NPM, "pypi": _PYPI, "maven": _MAVEN, "go": _GO}[ecosystem]
        name = rng.choice(base)
        if len(self.packages) > 400 and rng.random() < 0.6:  # big images vendor many look-alike packages
            name = f"{name}-{rng.choice(_WORDS)}{rng.randint(1, 99)}"
        if ecosystem == "debian":
            upstream = f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
            version = f"{upstream}-{rng.randint(1, 9)}+deb12u{rng.randint(1, 9)}"
            path = ""
            layer = rng.randint(0, 1)
        else:
            version = f"{rng.randint(0, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 15)}"
            short = name.split(":")[-1].split("/")[-1]
            path = {
                "npm": f"app/node_modules/{name}/package.json",
                "pypi": f"usr/local/lib/python3.12/site-packages/{short}-{version}.dist-info/METADATA",
                "maven": f"app/lib/{short}-{version}.jar",
                "go": "usr/local/bin/app",
            }[ecosystem]
            layer = rng.randint(2, len(self.layers) - 1)
        pkg = _Package(name, version, ecosystem, path, layer, _hex(rng, 16))
        self.packages.append(pkg)
        return pkg

    def advisory(self, ecosystem: str) -> _Advisory:
        rng = self.rng
        self._cve_counter += 1
        year = rng.randint(2016, 2026)
        cve = f"CVE-{year}-{10000 + self._cve_counter * 7 + rng.randint(0, 6)}"
        ident = cve
        if ecosystem in ("npm", "pypi", "maven", "go") and rng.random() < 0.4:
            ident = "GHSA-" + "-".join(
                "".join(rng.choice("23456789cfghjmpqrvwx") for _ in range(4)) for _ in range(3)
            )
        severity = rng.choices(_SEVERITIES, _SEVERITY_WEIGHTS)[0]
        project = rng.choice(_OS_PACKAGES + _NPM + _PYPI)
        words = rng.sample(_WORDS, 3)
        title = f"{project}: {' '.join(words)} in {rng.choice(_FUNCTIONS)}"
        sentences = [
            f"A {words[0]} {words[1]} flaw was found in {project} before "
            f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}. "
            f"{rng.choice(_ATTACKERS).capitalize()} can {rng.choice(_IMPACTS)} via a "
            f"crafted {rng.choice(_WORDS)} {rng.choice(_WORDS)} passed to {rng.choice(_FUNCTIONS)}()."
        ]
        for _ in range(rng.choices((0, 1, 3, 6, 12), (15, 30, 30, 20, 5))[0]):
            sentences.append(
                f"The {rng.choice(_WORDS)} {rng.choice(_WORDS)} in {rng.choice(_FUNCTIONS)} does not check "
                f"the {rng.choice(_WORDS)} {rng.choice(_WORDS)}, which lets {rng.choice(_ATTACKERS)} "
                f"{rng.choice(_IMPACTS)}."
            )
        low, high = _SCORE_RANGE.get(severity, (0.0, 0.0))
        cvss: dict[str, Json] = {}
        if severity != "UNKNOWN":
            for source in rng.sample(("nvd", "redhat", "ghsa", "bitnami"), rng.randint(1, 3)):
                score = round(rng.uniform(low, high), 1)
                entry: Json = {"V3Vector": _vector3(rng), "V3Score": score}
                if source == "nvd" and year < 2022:
                    entry = {"V2Vector": _vector2(rng), **entry, "V2Score": round(min(10.0, score + 0.3), 1)}
                    entry = {k: entry[k] for k in ("V2Vector", "V3Vector", "V2Score", "V3Score")}
                if rng.random() < 0.05:
                    entry["V40Vector"] = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
                    entry["V40Score"] = score
                cvss[source] = entry
        vendor = {
            v: max(0, min(4, _VENDOR_NUMBER[severity] + rng.choice((-1, 0, 0, 0, 1))))
            for v in sorted(rng.sample(_VENDORS, rng.randint(1, 6)))
        }
        refs = tuple(
            sorted(
                {
                    rng.choice(_REF_HOSTS).format(
                        cve=cve,
                        n=rng.randint(1000, 9999),
                        n2=rng.randint(10, 99),
                        y=year,
                        m=rng.randint(1, 9),
                        proj=project,
                        sha=_hex(rng, 40),
                    )
                    for _ in range(rng.choices((1, 3, 8, 20, 40), (10, 30, 35, 20, 5))[0])
                }
            )
        )
        epss = round(rng.random() ** 6, 5)
        adv = _Advisory(
            id=ident,
            cve=cve,
            severity=severity,
            title=title,
            description=" ".join(sentences),
            cwes=tuple(
                f"CWE-{rng.choice((20, 22, 79, 89, 119, 125, 190, 200, 400, 416, 476, 787, 835))}"
                for _ in range(rng.randint(0, 2))
            ),
            cvss=cvss,
            vendor_severity=vendor,
            references=refs,
            published=_timestamp(rng, year),
            modified=_timestamp(rng, min(year + 1, 2026)),
            epss=epss,
            percentile=round(min(0.99999, epss**0.2), 5),
            kev=severity in ("CRITICAL", "HIGH") and rng.random() < 0.04,
        )
        self.advisories.append(adv)
        return adv


def _timestamp(rng: random.Random, year: int) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(10, 23)}:15:00Z"


def _vector3(rng: random.Random) -> str:
    parts = [
        "AV:" + rng.choice("NNNAL"),
        "AC:" + rng.choice("LLH"),
        "PR:" + rng.choice("NNLH"),
        "UI:" + rng.choice("NR"),
    ]
    parts += ["S:" + rng.choice("UUC")] + [f"{m}:" + rng.choice("NLHH") for m in "CIA"]
    return "CVSS:3.1/" + "/".join(parts)


def _vector2(rng: random.Random) -> str:
    return (
        f"AV:N/AC:{rng.choice('LMH')}/Au:N/C:{rng.choice('NPC')}/I:{rng.choice('NPC')}/A:{rng.choice('NPC')}"
    )


def _world(seed: int) -> _World:
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not cryptography
    layers = [(_sha(rng), _sha(rng), rng.randint(1_000, 80_000_000)) for _ in range(7)]
    history = [
        {
            "created": "2026-03-10T00:00:00Z",
            "created_by": "# debian.sh --arch 'amd64' out/ 'bookworm' '@1741564800'",
        },
        {
            "created": "2026-03-12T08:01:02Z",
            "created_by": "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit",
        },
        {"created": "2026-03-12T08:02:10Z", "created_by": "WORKDIR /app", "empty_layer": True},
        {
            "created": "2026-03-12T08:02:11Z",
            "created_by": "COPY package.json package-lock.json ./ # buildkit",
        },
        {"created": "2026-03-12T08:03:40Z", "created_by": "RUN /bin/sh -c npm ci --omit=dev # buildkit"},
        {
            "created": "2026-03-12T08:04:01Z",
            "created_by": "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
        },
        {"created": "2026-03-12T08:04:30Z", "created_by": "COPY app/ /app/ # buildkit"},
        {"created": "2026-03-12T08:04:31Z", "created_by": "COPY bin/app /usr/local/bin/app # buildkit"},
        {"created": "2026-03-12T08:04:31Z", "created_by": "EXPOSE map[8080/tcp:{}]", "empty_layer": True},
        {"created": "2026-03-12T08:04:31Z", "created_by": 'CMD ["node" "server.js"]', "empty_layer": True},
    ]
    config: Json = {
        "architecture": "amd64",
        "created": "2026-03-12T08:04:31.123456789Z",
        "history": history,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff, _ in layers]},
        "config": {
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "NODE_VERSION=22.14.0",
                "PYTHON_VERSION=3.12.9",
                "LANG=C.UTF-8",
            ],
            "Cmd": ["node", "server.js"],
            "WorkingDir": "/app",
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {
                "org.opencontainers.image.source": "https://github.com/example/shop-api",
                "org.opencontainers.image.revision": _hex(rng, 40),
                "org.opencontainers.image.created": "2026-03-12T08:04:31Z",
                "maintainer": "platform-team@example.com",
            },
            "ArgsEscaped": True,
        },
    }
    return _World(
        rng=rng,
        image_ref="registry.example.com/shop/api:2026.03.12",
        image_id=_sha(rng),
        manifest_digest=_sha(rng),
        layers=layers,
        config=config,
    )


@dataclass(frozen=True)
class _Hit:
    package: _Package
    advisory: _Advisory
    status: str  # a Trivy status
    fixed: str


def _hits(world: _World, record_size: Callable[[_Hit], int], target_bytes: int) -> list[_Hit]:
    """Pairs of (package, advisory) until the rendered records reach `target_bytes`."""
    rng = world.rng
    hits: list[_Hit] = []
    seen: set[tuple[str, str]] = set()
    total = 0
    while total < target_bytes:
        if not world.packages or rng.random() < 0.12:
            package = world.package()
        else:
            package = rng.choice(world.packages[-200:] if rng.random() < 0.7 else world.packages)
        same_ecosystem = [
            a for a in world.advisories[-60:] if (a.id == a.cve) == (package.ecosystem == "debian")
        ]
        if same_ecosystem and rng.random() < 0.45:  # advisories hit several packages (libssl3 + openssl)
            advisory = rng.choice(same_ecosystem)
        else:
            advisory = world.advisory(package.ecosystem)
        key = (package.uid, advisory.id)
        if key in seen:
            continue
        seen.add(key)
        status = rng.choices(_TRIVY_STATUS, _TRIVY_STATUS_WEIGHTS)[0]
        fixed = ""
        if status == "fixed":
            fixed = _bump(package.version, rng)
            if package.ecosystem != "debian" and rng.random() < 0.2:
                fixed += ", " + _bump(fixed, rng)
        hit = _Hit(package, advisory, status, fixed)
        hits.append(hit)
        total += record_size(hit)
    return hits


def _bump(version: str, rng: random.Random) -> str:
    head, _, tail = version.partition("-")
    parts = head.split(".")
    parts[-1] = str(int(parts[-1]) + rng.randint(1, 4)) if parts[-1].isdigit() else parts[-1] + "1"
    return ".".join(parts) + (f"-{tail}" if tail else "")


def _rendered_size(record: Json, depth: int) -> int:
    text = to_json(record, indent=2)
    return len(text) + text.count(b"\n") * 2 * depth + 2 * depth + 2


# --- Trivy ------------------------------------------------------------------------------------------------

_TRIVY_RESULTS = {
    "debian": ("{ref} (debian 12.10)", "os-pkgs", "debian"),
    "npm": ("Node.js", "lang-pkgs", "node-pkg"),
    "pypi": ("Python", "lang-pkgs", "python-pkg"),
    "maven": ("Java", "lang-pkgs", "jar"),
    "go": ("usr/local/bin/app", "lang-pkgs", "gobinary"),
}
_PURL_TYPE = {"debian": "deb/debian", "npm": "npm", "pypi": "pypi", "maven": "maven", "go": "golang"}
_DATA_SOURCES = {
    "debian": {
        "ID": "debian",
        "Name": "Debian Security Tracker",
        "URL": "https://salsa.debian.org/security-tracker-team/security-tracker",
    },
    "npm": {
        "ID": "ghsa",
        "Name": "GitHub Security Advisory npm",
        "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm",
    },
    "pypi": {
        "ID": "ghsa",
        "Name": "GitHub Security Advisory pip",
        "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Apip",
    },
    "maven": {
        "ID": "ghsa",
        "Name": "GitHub Security Advisory Maven",
        "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Amaven",
    },
    "go": {"ID": "govulndb", "Name": "The Go Vulnerability Database", "URL": "https://pkg.go.dev/vuln/"},
}


def _stable(text: str) -> int:
    """A number derived from `text` alone (str hash() changes per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _purl(p: _Package) -> str:
    name = p.name.replace(":", "/")
    qualifier = "?arch=amd64&distro=debian-12.10" if p.ecosystem == "debian" else ""
    return f"pkg:{_PURL_TYPE[p.ecosystem]}/{name}@{p.version}{qualifier}"


def _trivy_vulnerability(world: _World, hit: _Hit) -> Json:
    p, a = hit.package, hit.advisory
    digest, diff_id, _ = world.layers[p.layer]
    record: Json = {
        "VulnerabilityID": a.id,
        "VendorIDs": [f"DSA-{_stable(a.cve) % 9000 + 1000}-1"]
        if p.ecosystem == "debian" and a.severity in ("HIGH", "CRITICAL")
        else None,
        "PkgID": f"{p.name}@{p.version}",
        "PkgName": p.name,
        "PkgPath": p.path or None,
        "PkgIdentifier": {"PURL": _purl(p), "UID": p.uid},
        "InstalledVersion": p.version,
        "FixedVersion": hit.fixed or None,
        "Status": hit.status,
        "Layer": {"Digest": digest, "DiffID": diff_id},
        "SeveritySource": "nvd" if "nvd" in a.vendor_severity else next(iter(a.vendor_severity)),
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{a.cve.lower()}",
        "DataSource": _DATA_SOURCES[p.ecosystem],
        "Fingerprint": "sha256:" + hashlib.sha256(f"{p.uid}{a.id}".encode()).hexdigest(),
        "Title": a.title,
        "Description": a.description,
        "Severity": a.severity,
        "CweIDs": list(a.cwes) or None,
        "VendorSeverity": a.vendor_severity,
        "CVSS": a.cvss or None,
        "References": list(a.references),
        "PublishedDate": a.published,
        "LastModifiedDate": a.modified,
    }
    return {k: v for k, v in record.items() if v is not None}


def trivy_report(target_bytes: int, seed: int = DEFAULT_SEED) -> Json:
    """A Trivy SchemaVersion 2 container_image report whose rendering is about `target_bytes` long."""
    world = _world(seed)
    hits = _hits(world, lambda h: _rendered_size(_trivy_vulnerability(world, h), 4), target_bytes - 12_000)
    by_result: dict[str, list[Json]] = {}
    for hit in sorted(hits, key=lambda h: (h.package.name, h.package.version, h.advisory.id)):
        by_result.setdefault(hit.package.ecosystem, []).append(_trivy_vulnerability(world, hit))
    results = []
    for ecosystem, (target, klass, kind) in _TRIVY_RESULTS.items():
        if ecosystem in by_result:
            results.append(
                {
                    "Target": target.format(ref=world.image_ref),
                    "Class": klass,
                    "Type": kind,
                    "Vulnerabilities": by_result[ecosystem],
                }
            )
    rng = world.rng
    return {
        "SchemaVersion": 2,
        "Trivy": {"Version": "0.69.3"},
        "ReportID": f"019d{_hex(rng, 4)}-{_hex(rng, 4)}-7{_hex(rng, 3)}-8{_hex(rng, 3)}-{_hex(rng, 12)}",
        "CreatedAt": "2026-11-20T04:05:06.254299495Z",
        "ArtifactID": world.image_id,
        "ArtifactName": world.image_ref,
        "ArtifactType": "container_image",
        "Metadata": {
            "Size": sum(size for _, _, size in world.layers),
            "OS": {"Family": "debian", "Name": "12.10"},
            "ImageID": world.image_id,
            "DiffIDs": [diff for _, diff, _ in world.layers],
            "RepoTags": [world.image_ref],
            "RepoDigests": [world.image_ref.split(":")[0] + "@" + world.manifest_digest],
            "Reference": world.image_ref,
            "ImageConfig": world.config,
            "Layers": [{"Size": s, "Digest": d, "DiffID": i} for d, i, s in world.layers],
        },
        "Results": results,
    }


def vendor_vex(report: Json, every: int = 8) -> Json:
    """An OpenVEX document on `report` (Trivy): every `every`-th advisory is not_affected in a Go binary of
    the image, listed as a subcomponent (as Trivy's own VEX lists the modules inside its binary)."""
    found = [v for result in report["Results"] for v in result.get("Vulnerabilities", ())]
    binary = next(
        v["PkgIdentifier"]["PURL"]
        for v in reversed(found)
        if v["PkgIdentifier"]["PURL"].startswith("pkg:golang/")
    )
    purls: dict[str, set[str]] = {}
    for v in found:
        purls.setdefault(v["VulnerabilityID"], set()).add(v["PkgIdentifier"]["PURL"].split("@")[0])
    statements = [
        {
            "vulnerability": {"name": vid},
            "products": [{"@id": binary, "subcomponents": [{"@id": purl} for purl in sorted(purls[vid])]}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        }
        for vid in sorted(purls)[::every]
    ]
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://vendor.example/vex/app-2026-11-20",
        "author": "Vendor Security Team",
        "timestamp": "2026-11-20T00:00:00Z",
        "version": 1,
        "statements": statements,
    }


# --- Grype ------------------------------------------------------------------------------------------------

_GRYPE_TYPES = {"debian": "deb", "npm": "npm", "pypi": "python", "maven": "java-archive", "go": "go-module"}
_GRYPE_MATCHERS = {
    "debian": "dpkg-matcher",
    "npm": "javascript-matcher",
    "pypi": "python-matcher",
    "maven": "java-matcher",
    "go": "go-module-matcher",
}
_LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-or-later", "LGPL-2.1")
_GRYPE_LANGUAGE = {"debian": "", "npm": "javascript", "pypi": "python", "maven": "java", "go": "go"}


def _grype_cvss(a: _Advisory) -> list[Json]:
    out = []
    for source, entry in sorted(a.cvss.items()):
        for prefix, version in (("V3", "3.1"), ("V2", "2.0"), ("V40", "4.0")):
            if f"{prefix}Score" in entry:
                out.append(
                    {
                        "source": "nvd@nist.gov" if source == "nvd" else f"{source}@example.org",
                        "type": "Primary" if source == "nvd" else "Secondary",
                        "version": version,
                        "vector": entry[f"{prefix}Vector"],
                        "metrics": {
                            "baseScore": entry[f"{prefix}Score"],
                            "exploitabilityScore": 3.9,
                            "impactScore": round(max(0.0, entry[f"{prefix}Score"] - 3.9), 1),
                        },
                        "vendorMetadata": {},
                    }
                )
    return out


def _grype_match(world: _World, hit: _Hit) -> Json:
    p, a = hit.package, hit.advisory
    digest, _, _ = world.layers[p.layer]
    eco = p.ecosystem
    namespace = "debian:distro:debian:12" if eco == "debian" else f"github:language:{_GRYPE_LANGUAGE[eco]}"
    state = _GRYPE_STATE[hit.status]
    debian_low = eco == "debian" and a.severity == "LOW"
    versions = [v.strip() for v in hit.fixed.split(",") if v.strip()]
    fix: Json = {"versions": versions, "state": state}
    if versions:
        fix["available"] = [{"version": versions[0], "date": a.modified[:10], "kind": "first-observed"}]
    vulnerability: Json = {
        "id": a.id,
        "dataSource": f"https://security-tracker.debian.org/tracker/{a.cve}"
        if eco == "debian"
        else f"https://github.com/advisories/{a.id}",
        "namespace": namespace,
        "severity": "Negligible" if debian_low and a.epss <= 0.001 else a.severity.capitalize(),
        "urls": list(a.references[:3]),
        "description": a.title if eco != "debian" else "",
        "cvss": _grype_cvss(a) if eco != "debian" else [],
        "epss": [{"cve": a.cve, "epss": a.epss, "percentile": a.percentile, "date": "2026-11-19"}],
        "cwes": [{"cve": a.cve, "cwe": c, "source": "nvd@nist.gov", "type": "Primary"} for c in a.cwes],
        "fix": fix,
        "advisories": [],
        "risk": round(a.epss * 100 * (1 + _VENDOR_NUMBER[a.severity]) / 5, 6),
    }
    if a.kev:
        vulnerability["knownExploited"] = [
            {
                "cve": a.cve,
                "vendorProject": p.name,
                "product": p.name,
                "dateAdded": a.modified[:10],
                "requiredAction": "Apply mitigations per vendor instructions or discontinue use of the "
                "product if mitigations are unavailable.",
                "dueDate": a.modified[:10],
                "knownRansomwareCampaignUse": "Unknown",
                "urls": [f"https://nvd.nist.gov/vuln/detail/{a.cve}"],
                "cwes": list(a.cwes),
            }
        ]
    related = [
        {
            "id": a.cve,
            "dataSource": f"https://nvd.nist.gov/vuln/detail/{a.cve}",
            "namespace": "nvd:cpe",
            "severity": a.severity.capitalize(),
            "urls": list(a.references),
            "description": a.description,
            "cvss": _grype_cvss(a),
        }
    ]
    searched: Json = {"namespace": namespace, "package": {"name": p.name, "version": p.version}}
    if eco == "debian":
        searched = {"distro": {"type": "debian", "version": "12.10"}, **searched}
        constraint = f"< {hit.fixed} (deb)" if hit.fixed else "none (deb)"
    else:
        searched = {"language": _GRYPE_LANGUAGE[eco], **searched}
        constraint = f"<{versions[0]}" if versions else f">={p.version}"
    detail: Json = {
        "type": "exact-indirect-match" if eco == "debian" and _stable(p.uid) % 2 else "exact-direct-match",
        "matcher": _GRYPE_MATCHERS[eco],
        "searchedBy": searched,
        "found": {"vulnerabilityID": a.id, "versionConstraint": constraint},
    }
    if versions:
        detail["fix"] = {"suggestedVersion": versions[0]}
    short = p.name.split(":")[-1].split("/")[-1]
    location: Json = {
        "path": "/var/lib/dpkg/status.d/" + p.name if eco == "debian" else "/" + p.path,
        "layerID": digest,
        "accessPath": "/var/lib/dpkg/status.d/" + p.name if eco == "debian" else "/" + p.path,
        "annotations": {"evidence": "primary"},
    }
    artifact: Json = {
        "id": p.uid,
        "name": p.name,
        "version": p.version,
        "type": _GRYPE_TYPES[eco],
        "locations": [location],
        "language": _GRYPE_LANGUAGE[eco],
        "licenses": [_LICENSES[_stable(p.name) % len(_LICENSES)]],
        "cpes": [f"cpe:2.3:a:{short}:{short}:{p.version}:*:*:*:*:*:*:*"],
        "purl": _purl(p),
        "upstreams": [{"name": short}] if eco == "debian" else [],
    }
    if eco == "debian":
        artifact["metadataType"] = "DpkgMetadata"
        artifact["metadata"] = {
            "source": short,
            "sourceVersion": p.version,
            "architecture": "amd64",
            "size": 1024,
        }
    elif eco == "maven":
        artifact["metadataType"] = "JavaArchive"
        artifact["metadata"] = {
            "virtualPath": "/" + p.path,
            "pomProperties": {"groupId": p.name.split(":")[0]},
        }
    return {
        "vulnerability": vulnerability,
        "relatedVulnerabilities": related,
        "matchDetails": [detail],
        "artifact": artifact,
    }


def grype_report(target_bytes: int, seed: int = DEFAULT_SEED) -> Json:
    """A Grype `-o json` report of an image whose rendering is about `target_bytes` long."""
    world = _world(seed + 1)
    hits = _hits(world, lambda h: _rendered_size(_grype_match(world, h), 2), target_bytes - 40_000)
    matches = [_grype_match(world, h) for h in sorted(hits, key=lambda h: (h.package.name, h.advisory.id))]
    config = json.dumps(world.config, separators=(",", ":")).encode()
    layers = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s}
        for d, _, s in world.layers
    ]
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": world.image_id,
            },
            "layers": layers,
        },
        separators=(",", ":"),
    ).encode()
    providers = (
        "alpine",
        "amazon",
        "debian",
        "epss",
        "github",
        "kev",
        "nvd",
        "oracle",
        "rhel",
        "sles",
        "ubuntu",
        "wolfi",
    )
    return {
        "matches": matches,
        "source": {
            "type": "image",
            "target": {
                "userInput": world.image_ref,
                "imageID": world.image_id,
                "manifestDigest": world.manifest_digest,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "tags": [world.image_ref],
                "imageSize": sum(s for _, _, s in world.layers),
                "layers": layers,
                "manifest": base64.b64encode(manifest).decode(),
                "config": base64.b64encode(config).decode(),
                "repoDigests": [world.image_ref.split(":")[0] + "@" + world.manifest_digest],
                "architecture": "amd64",
                "os": "linux",
            },
        },
        "distro": {"name": "debian", "version": "12", "idLike": []},
        "descriptor": {
            "name": "grype",
            "version": "0.104.0",
            "configuration": {
                "output": ["json"],
                "pretty": False,
                "only-fixed": False,
                "ignore-wontfix": "",
                "search": {"scope": "squashed", "unindexed-archives": False, "indexed-archives": True},
                "db": {
                    "cache-dir": "/root/.cache/grype/db",
                    "update-url": "https://grype.anchore.io/databases",
                },
            },
            "db": {
                "status": {
                    "schemaVersion": "v6.1.1",
                    "from": "https://grype.anchore.io/databases/v6/",
                    "built": "2026-11-20T00:29:53Z",
                    "valid": True,
                },
                "providers": {
                    name: {"captured": "2026-11-20T00:26:22Z", "input": "xxh64:" + _hex(world.rng, 16)}
                    for name in providers
                },
            },
            "timestamp": "2026-11-20T15:44:40.614343+07:00",
        },
    }


# --- files ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A generated report file: scanner, nominal size in MB, path."""

    scanner: str
    size_mb: int
    path: Path


def write_report(path: Path, document: Json) -> None:
    """Write `document` as scanners do (2-space indent, UTF-8, trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(to_json(document, indent=2) + b"\n")
    tmp.replace(path)


def ensure_reports(
    out: Path, sizes_mb: list[int], seed: int = DEFAULT_SEED, *, force: bool = False
) -> list[Report]:
    """Generate (or reuse, when the stamp matches) the Trivy and Grype reports; return them in bench order."""
    reports = []
    for scanner, build in (("trivy", trivy_report), ("grype", grype_report)):
        for size in sizes_mb:
            path = out / f"{scanner}-{size}mb.json"
            stamp = path.with_suffix(".stamp")
            expected = f"generator {GENERATOR_VERSION} seed {seed} size {size}\n"
            vex = path.with_suffix(".vex.json")
            current = path.is_file() and stamp.is_file() and stamp.read_text() == expected
            if force or not current or (scanner == "trivy" and not vex.is_file()):
                print(f"generating {path} ...", file=sys.stderr, flush=True)
                document = build(size * MB, seed)
                write_report(path, document)
                if scanner == "trivy":
                    write_report(vex, vendor_vex(document))
                stamp.write_text(expected)
            reports.append(Report(scanner, size, path))
    return reports


def main(argv: list[str] | None = None) -> int:
    """Generate the reports; return the exit code."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--sizes", default="10,100", help="comma-separated sizes in MB (default 10,100)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="regenerate even when the files are current")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for report in ensure_reports(args.out, sizes, args.seed, force=args.force):
        print(f"{report.path}  {report.path.stat().st_size / MB:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
