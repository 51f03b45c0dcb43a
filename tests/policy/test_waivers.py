"""Waiver hygiene: expiry at the boundary days, the 14-day window, unused waivers, actions, horizon, scopes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from gate.errors import PolicyError
from gate.model import Finding, FindingKind, FixState, Image, Package, Scan, Severity
from gate.policy.decision import Action, Decision, ImageDecision, Verdict, WaiverState
from gate.policy.engine import evaluate
from gate.policy.schema import Policy, load_policy
from gate.policy.waivers import check_horizon, waiver_mismatch
from tests.conftest import TODAY, write_policy

CVE = "CVE-2024-1111"


def _finding(vid: str = CVE, *, name: str = "openssl", path: str = "") -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vid,
        aliases=("GHSA-aaaa-bbbb-cccc",),
        severity=Severity.HIGH,
        package=Package(name=name, version="1.0", type="apk", purl=f"pkg:apk/alpine/{name}@1.0", path=path),
        fix_state=FixState.FIXED,
        fixed_versions=("1.1",),
        scanner="trivy",
    )


def _scan(*findings: Finding, image: str = "registry.example/app:1.0") -> Scan:
    return Scan(
        source="r.json",
        scanner="trivy",
        artifact=image,
        artifact_type="container_image",
        image=Image(reference=image, config_known=True, user="app"),
        findings=findings,
    )


def _policy(tmp_path: Path, waivers: str, settings: str = "") -> Policy:
    return load_policy(str(write_policy(tmp_path, f'extends = "builtin:default"\n{settings}\n{waivers}')))


def _waiver(expires: date, extra: str = "") -> str:
    return (
        f'[[waivers]]\nid = "{CVE}"\nreason = "not reachable"\nexpires = {expires.isoformat()}\n'
        f'owner = "team-a"\nticket = "SEC-42"\n{extra}\n'
    )


def _rule(decision: Decision, rule_id: str) -> tuple[bool, str, Action]:
    result = next(r for r in decision.images[0].rules if r.rule_id == rule_id)
    return result.triggered, result.explanation, result.action


@pytest.mark.parametrize(
    ("offset", "verdict", "state", "waived"),
    [
        (30, Verdict.PASS, WaiverState.USED, True),
        (15, Verdict.PASS, WaiverState.USED, True),  # just outside the 14-day window
        (14, Verdict.WARN, WaiverState.EXPIRING, True),  # the window's far edge
        (1, Verdict.WARN, WaiverState.EXPIRING, True),
        (0, Verdict.WARN, WaiverState.EXPIRING, True),  # expires == today: the last day it waives
        (-1, Verdict.FAIL, WaiverState.EXPIRED, False),  # today == expires + 1: expired
    ],
)
def test_expiry_boundaries(
    tmp_path: Path, offset: int, verdict: Verdict, state: WaiverState, waived: bool
) -> None:
    policy = _policy(tmp_path, _waiver(TODAY + timedelta(days=offset)))
    decision = evaluate(_scan(_finding()), policy, today=TODAY)
    [status] = decision.images[0].waivers
    assert (decision.verdict, status.state, bool(decision.images[0].waived)) == (verdict, state, waived)
    assert status.days_left == offset


def test_expired_waiver_fails_as_waiver_expired_and_the_finding_fails_its_rule(tmp_path: Path) -> None:
    expired = TODAY - timedelta(days=1)
    decision = evaluate(_scan(_finding()), _policy(tmp_path, _waiver(expired)), today=TODAY)
    triggered, explanation, action = _rule(decision, "waiver-expired")
    assert (triggered, action) == (True, Action.FAIL)
    assert explanation == (
        f"1 waiver expired: waiver for {CVE} expired on {expired} (owner team-a, ticket SEC-42); "
        "it no longer waives 1 finding"
    )
    assert {v.rule_id for v in decision.violations} == {"fixable-critical-high", "waiver-expired"}
    finding_violation = next(v for v in decision.violations if v.rule_id == "fixable-critical-high")
    assert "its waiver has expired" in finding_violation.message


def test_expiring_message_counts_days(tmp_path: Path) -> None:
    decision = evaluate(_scan(_finding()), _policy(tmp_path, _waiver(TODAY + timedelta(days=3))), today=TODAY)
    assert _rule(decision, "waiver-expiring")[1] == (
        f"1 waiver expiring: waiver for {CVE} expires in 3 days ({TODAY + timedelta(days=3)}) "
        "(owner team-a, ticket SEC-42)"
    )
    today_too = evaluate(_scan(_finding()), _policy(tmp_path, _waiver(TODAY)), today=TODAY)
    assert "expires today" in _rule(today_too, "waiver-expiring")[1]


def test_unused_waiver_warns(tmp_path: Path) -> None:
    decision = evaluate(_scan(), _policy(tmp_path, _waiver(TODAY + timedelta(days=60))), today=TODAY)
    assert decision.verdict is Verdict.WARN
    triggered, explanation, action = _rule(decision, "waiver-unused")
    assert (triggered, action) == (True, Action.WARN)
    assert "matched no finding" in explanation
    [violation] = decision.violations
    assert (violation.rule_id, violation.id, violation.action) == ("waiver-unused", CVE, Action.WARN)


def test_expired_and_unused_is_expired_not_unused(tmp_path: Path) -> None:
    decision = evaluate(_scan(), _policy(tmp_path, _waiver(TODAY - timedelta(days=5))), today=TODAY)
    assert decision.images[0].waivers[0].state is WaiverState.EXPIRED
    assert _rule(decision, "waiver-expired")[0] is True
    assert _rule(decision, "waiver-unused")[0] is False


@pytest.mark.parametrize(
    ("settings", "verdict", "rule_present"),
    [
        ('waiver_expired = "warn"', Verdict.WARN, True),
        ('waiver_expired = "info"', Verdict.PASS, True),
        ('waiver_expired = "off"', Verdict.PASS, False),
    ],
)
def test_expired_action_is_configurable(
    tmp_path: Path, settings: str, verdict: Verdict, rule_present: bool
) -> None:
    policy = _policy(tmp_path, _waiver(TODAY - timedelta(days=1)), f"[settings]\n{settings}\n")
    decision = evaluate(_scan(), policy, today=TODAY)  # no finding: only the waiver rule can act
    assert decision.verdict is verdict
    assert any(r.rule_id == "waiver-expired" for r in decision.images[0].rules) is rule_present


def test_warning_window_and_other_actions_are_configurable(tmp_path: Path) -> None:
    settings = '[settings]\nexpiry_warning_days = 3\nwaiver_expiring = "fail"\nwaiver_unused = "off"\n'
    four = evaluate(
        _scan(_finding()), _policy(tmp_path, _waiver(TODAY + timedelta(days=4)), settings), today=TODAY
    )
    assert (four.verdict, four.images[0].waivers[0].state) == (Verdict.PASS, WaiverState.USED)
    three = evaluate(
        _scan(_finding()), _policy(tmp_path, _waiver(TODAY + timedelta(days=3)), settings), today=TODAY
    )
    assert (three.verdict, three.images[0].waivers[0].state) == (Verdict.FAIL, WaiverState.EXPIRING)
    unused = evaluate(_scan(), _policy(tmp_path, _waiver(TODAY + timedelta(days=90)), settings), today=TODAY)
    assert unused.verdict is Verdict.PASS
    assert not any(r.rule_id == "waiver-unused" for r in unused.images[0].rules)


def test_no_waivers_no_waiver_rules() -> None:
    decision = evaluate(_scan(_finding()), load_policy("builtin:default"), today=TODAY)
    assert not any(r.subject == "waivers" for r in decision.images[0].rules)


def test_a_waiver_for_another_image_is_not_unused_here(tmp_path: Path) -> None:
    policy = _policy(tmp_path, _waiver(TODAY + timedelta(days=60), 'images = ["registry.example/other:*"]'))
    decision = evaluate(_scan(_finding()), policy, today=TODAY)
    assert decision.images[0].waivers == ()
    assert not any(r.subject == "waivers" for r in decision.images[0].rules)
    assert decision.verdict is Verdict.FAIL  # and it does not waive this image's finding


def test_every_matching_waiver_counts_its_matches(tmp_path: Path) -> None:
    text = _waiver(TODAY + timedelta(days=60)) + _waiver(TODAY + timedelta(days=90)).replace(
        CVE, "GHSA-aaaa-bbbb-cccc"
    )
    decision = evaluate(_scan(_finding()), _policy(tmp_path, text), today=TODAY)
    assert [(s.waiver_id, s.matched) for s in decision.images[0].waivers] == [
        (CVE, 1),
        ("GHSA-aaaa-bbbb-cccc", 1),
    ]
    assert decision.images[0].waived[0].waiver_id == CVE  # the first in force waives


def test_horizon(tmp_path: Path) -> None:
    settings = "[settings]\nmax_waiver_days = 90\n"
    check_horizon(_policy(tmp_path, _waiver(TODAY + timedelta(days=90)), settings), today=TODAY)
    too_far = _waiver(TODAY + timedelta(days=91)) + _waiver(TODAY + timedelta(days=400)).replace(CVE, "CVE-2")
    with pytest.raises(PolicyError) as info:
        check_horizon(_policy(tmp_path, too_far, settings), today=TODAY)
    assert len(info.value.problems) == 2
    assert info.value.problems[0] == (
        f"waivers[0] ({CVE}): expires {TODAY + timedelta(days=91)} is 91 days after {TODAY}, more than "
        "settings.max_waiver_days = 90; choose an earlier date"
    )
    assert info.value.problems[1].startswith("waivers[1] (CVE-2): expires")
    check_horizon(_policy(tmp_path, too_far), today=TODAY)  # no limit set: anything goes


def test_horizon_names_the_file_a_waiver_is_written_in(tmp_path: Path) -> None:
    # The base's second waiver runs too far: the message points at the base file and its index there,
    # not at the top file (which extends it) nor at the waiver's place in the merged list.
    (tmp_path / "sub").mkdir()
    near, far = _waiver(TODAY + timedelta(days=10)), _waiver(TODAY + timedelta(days=400))
    base = tmp_path / "sub" / "base.toml"
    base.write_text(f'extends = "builtin:default"\n{near}{far.replace(CVE, "CVE-BASE")}', encoding="utf-8")
    top = write_policy(
        tmp_path,
        f'extends = "sub/base.toml"\n[settings]\nmax_waiver_days = 90\n{far.replace(CVE, "CVE-TOP")}',
    )
    with pytest.raises(PolicyError) as info:
        check_horizon(load_policy(str(top)), today=TODAY)
    assert info.value.source == str(top)
    assert [p.split(": expires")[0] for p in info.value.problems] == [
        f"extends: {base}: waivers[1] (CVE-BASE)",
        "waivers[0] (CVE-TOP)",
    ]


@pytest.mark.parametrize(
    ("scope", "finding", "words"),
    [
        ('packages = ["libssl*"]', _finding(), "packages ['libssl*'] does not match openssl"),
        (
            'purls = ["pkg:deb/*"]',
            _finding(),
            "purls ['pkg:deb/*'] does not match pkg:apk/alpine/openssl@1.0",
        ),
        ('paths = ["/app/*"]', _finding(path="/usr/lib/x"), "paths ['/app/*'] does not match /usr/lib/x"),
        ('images = ["other/*"]', _finding(), "images ['other/*'] does not match registry.example/app:1.0"),
        ("", _finding("CVE-9"), f"its id {CVE} is not CVE-9 or GHSA-aaaa-bbbb-cccc"),
        (
            'kinds = ["secret", "license"]',
            _finding(),
            "kinds ['secret', 'license'] does not include vulnerability",
        ),
        ('kinds = "vulnerability"', _finding(), None),
        ('packages = ["open*"]\npaths = ["/usr/*"]', _finding(path="/usr/lib/x"), None),
    ],
)
def test_scopes_say_why_they_do_not_match(
    tmp_path: Path, scope: str, finding: Finding, words: str | None
) -> None:
    [waiver] = _policy(tmp_path, _waiver(TODAY, scope)).waivers
    assert waiver_mismatch(waiver, finding, image="registry.example/app:1.0") == words


def test_a_cve_waiver_does_not_waive_an_advisory_that_covers_other_cves_too(tmp_path: Path) -> None:
    # Grype names an Amazon Linux advisory and lists its CVEs: waiving one of them leaves the others open.
    advisory = _finding("ALAS-2023-1").model_copy(update={"aliases": (CVE, "CVE-2024-2222")})
    one_cve = _finding("GHSA-aaaa-bbbb-cccc").model_copy(update={"aliases": (CVE,)})
    [waiver] = _policy(tmp_path, _waiver(TODAY)).waivers
    assert waiver_mismatch(waiver, advisory, image="x") == (
        "ALAS-2023-1 also covers CVE-2024-2222; waive ALAS-2023-1 itself to waive all of them"
    )
    assert waiver_mismatch(waiver, one_cve, image="x") is None  # the same vulnerability under another name
    [by_advisory] = _policy(tmp_path, _waiver(TODAY).replace(CVE, "ALAS-2023-1")).waivers
    assert waiver_mismatch(by_advisory, advisory, image="x") is None
    decision = evaluate(_scan(advisory), _policy(tmp_path, _waiver(TODAY)), today=TODAY)
    assert decision.verdict is Verdict.FAIL


def test_a_waiver_with_aliases_false_matches_the_findings_own_id_only(tmp_path: Path) -> None:
    [waiver] = _policy(tmp_path, _waiver(TODAY, "aliases = false")).waivers
    assert waiver_mismatch(waiver, _finding(), image="x") is None
    by_alias = _finding("GHSA-aaaa-bbbb-cccc").model_copy(update={"aliases": (CVE,)})
    assert waiver_mismatch(waiver, by_alias, image="x") == (
        f"its id {CVE} is an alias of GHSA-aaaa-bbbb-cccc, and aliases = false"
    )
    with pytest.raises(PolicyError, match="aliases"):
        _policy(tmp_path, _waiver(TODAY, 'aliases = "no"'))


def test_a_waiver_with_aliases_false_compares_its_id_as_written(tmp_path: Path) -> None:
    # As Trivy and Grype compare their ignore entries: a custom secret rule or licence may come in any case.
    secret = Finding(kind=FindingKind.SECRET, id="Internal-Token", severity=Severity.HIGH, scanner="trivy")
    [exact, other_case] = _policy(
        tmp_path,
        _waiver(TODAY, "aliases = false").replace(CVE, "Internal-Token")
        + _waiver(TODAY, "aliases = false").replace(CVE, "internal-token"),
    ).waivers
    assert waiver_mismatch(exact, secret, image="x") is None
    assert waiver_mismatch(other_case, secret, image="x") == (
        "its id internal-token is Internal-Token in another case, and aliases = false compares it as written"
    )
    [any_case] = _policy(tmp_path, _waiver(TODAY).replace(CVE, "internal-token")).waivers
    assert waiver_mismatch(any_case, secret, image="x") is None


def test_a_kinds_scope_waives_findings_of_its_kinds_only(tmp_path: Path) -> None:
    # A secret rule and a misconfiguration check of one ID: the waiver for the secret leaves the check gated.
    secret = Finding(kind=FindingKind.SECRET, id="private-key", severity=Severity.HIGH, scanner="trivy")
    check = secret.model_copy(update={"kind": FindingKind.MISCONFIG})
    policy = _policy(
        tmp_path,
        _waiver(TODAY + timedelta(days=90), 'kinds = ["secret"]').replace(CVE, "private-key")
        + '[[rules]]\nid = "checks"\naction = "fail"\nmatch = { kind = "misconfig" }\n',
    )
    decision = evaluate(_scan(secret, check), policy, today=TODAY)
    assert [(w.finding.kind, w.waiver_id) for w in decision.images[0].waived] == [
        (FindingKind.SECRET, "private-key")
    ]
    assert [(v.rule_id, v.id) for v in decision.images[0].violations] == [("checks", "private-key")]
    assert decision.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("value", "words"),
    [("[]", "non-empty list of kinds"), ('["vuln"]', "vulnerability"), ("1", "kinds")],
)
def test_a_kinds_scope_must_name_kinds(tmp_path: Path, value: str, words: str) -> None:
    with pytest.raises(PolicyError) as info:
        _policy(tmp_path, _waiver(TODAY, f"kinds = {value}"))
    assert any(p.startswith("waivers[0].kinds") and words in p for p in info.value.problems), (
        info.value.problems
    )


def test_a_waiver_used_by_one_image_of_the_run_is_not_unused_in_another(tmp_path: Path) -> None:
    from gate.policy.decision import combine
    from gate.policy.waivers import review_run

    policy = _policy(
        tmp_path,
        _waiver(TODAY + timedelta(days=60)) + _waiver(TODAY + timedelta(days=60)).replace(CVE, "CVE-0"),
    )
    used = evaluate(_scan(_finding(), image="registry.example/a:1"), policy, today=TODAY)
    other = evaluate(_scan(image="registry.example/b:1"), policy, today=TODAY)
    assert other.verdict is Verdict.WARN and _rule(other, "waiver-unused")[0] is True
    run = review_run(combine([used, other]))
    a, b = run.images
    assert [s.waiver_id for s in b.waivers] == ["CVE-0"]  # CVE-0 is unused everywhere: still reported
    assert [v.id for v in b.violations if v.rule_id == "waiver-unused"] == ["CVE-0"]
    assert [s.waiver_id for s in a.waivers] == [CVE, "CVE-0"]
    solo = review_run(
        combine(
            [
                used,
                evaluate(
                    _scan(image="registry.example/b:1"),
                    _policy(tmp_path, _waiver(TODAY + timedelta(days=60))),
                    today=TODAY,
                ),
            ]
        )
    )
    assert solo.images[1].waivers == ()
    assert solo.images[1].verdict is Verdict.PASS
    assert _rule(solo.model_copy(update={"images": (solo.images[1],)}), "waiver-unused")[:2] == (
        False,
        "no waiver unused (in any image of this run)",
    )


def _unused(image: ImageDecision) -> tuple[list[tuple[str, int | None]], list[int | None]]:
    """The image's unused waivers (ID, index) and the waiver index each of its waiver-unused violations
    names."""
    statuses = [(s.waiver_id, s.index) for s in image.waivers if s.state is WaiverState.UNUSED]
    return statuses, [v.waiver_index for v in image.violations if v.rule_id == "waiver-unused"]


def test_waivers_alike_but_for_their_packages_are_two_over_a_run(tmp_path: Path) -> None:
    from gate.policy.decision import combine
    from gate.policy.waivers import review_run

    expires = TODAY + timedelta(days=60)
    # One CVE waived in two packages; no image ships libssl3, so waivers[1] is unused in every image.
    policy = _policy(
        tmp_path, _waiver(expires, 'packages = ["openssl"]') + _waiver(expires, 'packages = ["libssl3"]')
    )
    used = evaluate(_scan(_finding(), image="registry.example/a:1"), policy, today=TODAY)
    other = evaluate(_scan(image="registry.example/b:1"), policy, today=TODAY)
    a, b = review_run(combine([used, other])).images
    assert [(s.index, s.state) for s in a.waivers] == [(0, WaiverState.USED), (1, WaiverState.UNUSED)]
    assert _unused(a) == ([(CVE, 1)], [1])
    assert _unused(b) == ([(CVE, 1)], [1])  # waivers[0], which image a used, is not unused here
    assert (a.verdict, b.verdict) == (Verdict.WARN, Verdict.WARN)


def test_an_unused_waiver_keeps_its_violation_beside_a_waiver_of_its_id_another_image_used(
    tmp_path: Path,
) -> None:
    from gate.policy.decision import combine
    from gate.policy.waivers import review_run

    expires = TODAY + timedelta(days=60)
    # waivers[1], for image b only, is unused; waivers[0] of the same ID is unused in b but used in a.
    policy = _policy(
        tmp_path,
        _waiver(expires) + _waiver(expires, 'images = ["*/b:1"]').replace("not reachable", "vendored copy"),
    )
    used = evaluate(_scan(_finding(), image="registry.example/a:1"), policy, today=TODAY)
    other = evaluate(_scan(image="registry.example/b:1"), policy, today=TODAY)
    assert _unused(other.images[0]) == ([(CVE, 0), (CVE, 1)], [0, 1])
    run = review_run(combine([used, other]))
    b = run.images[1]
    assert [s.reason for s in b.waivers] == ["vendored copy"]
    assert _unused(b) == ([(CVE, 1)], [1])
    assert _rule(run.model_copy(update={"images": (b,)}), "waiver-unused")[:2] == (
        True,
        f"1 waiver unused: waiver for {CVE} (waivers[1]) matched no finding (owner team-a, ticket SEC-42)",
    )
    assert b.verdict is Verdict.WARN


def test_a_waiver_of_an_id_another_waiver_has_says_where_it_is_written(tmp_path: Path) -> None:
    expires = TODAY + timedelta(days=60)
    base = tmp_path / "base.toml"
    base.write_text(
        'extends = "builtin:default"\n' + _waiver(expires, 'packages = ["zlib"]'), encoding="utf-8"
    )
    policy = write_policy(
        tmp_path,
        f'extends = "{base}"\n'
        + _waiver(expires, 'packages = ["libssl3"]')
        + _waiver(expires).replace(CVE, "CVE-0"),
    )
    decision = evaluate(_scan(_finding(name="openssl")), load_policy(str(policy)), today=TODAY)
    messages = [v.message for v in decision.violations if v.rule_id == "waiver-unused"]
    # The two waivers of one CVE (one in the file this one extends) are named by their place; CVE-0's is
    # alone.
    assert messages == [
        "waiver for CVE-0 matched no finding (owner team-a, ticket SEC-42)",
        f"waiver for {CVE} (extends: {base}: waivers[0]) matched no finding (owner team-a, ticket SEC-42)",
        f"waiver for {CVE} (waivers[0]) matched no finding (owner team-a, ticket SEC-42)",
    ]


def _without_index(decision: Decision) -> Decision:
    """`decision` as read from the record of a gate before the waiver index."""
    images = tuple(
        image.model_copy(
            update={
                "waivers": tuple(s.model_copy(update={"index": None}) for s in image.waivers),
                "violations": tuple(v.model_copy(update={"waiver_index": None}) for v in image.violations),
            }
        )
        for image in decision.images
    )
    return decision.model_copy(update={"images": images})


def test_without_an_index_waivers_are_told_apart_by_their_facts_as_before(tmp_path: Path) -> None:
    from gate.policy.decision import combine
    from gate.policy.waivers import review_run

    expires = TODAY + timedelta(days=60)
    policy = _policy(
        tmp_path,
        _waiver(expires)
        + _waiver(expires, 'packages = ["libssl3"]')
        + _waiver(expires).replace(CVE, "CVE-0"),
    )
    used = evaluate(_scan(_finding(), image="registry.example/a:1"), policy, today=TODAY)
    other = evaluate(_scan(image="registry.example/b:1"), policy, today=TODAY)
    a, b = review_run(_without_index(combine([used, other]))).images
    # waivers[1] reads as waivers[0], which a used; CVE-0, unused everywhere, is still reported.
    assert _unused(a) == ([("CVE-0", None)], [None])
    assert _unused(b) == ([("CVE-0", None)], [None])
    assert [v.id for v in b.violations] == ["CVE-0"]


def test_the_index_of_one_policy_is_not_compared_with_anothers(tmp_path: Path) -> None:
    from gate.policy.waivers import review_run

    expires = TODAY + timedelta(days=60)
    # Records of two policies merged: the CVE waiver is waivers[0] of one and waivers[1] of the other.
    first = _policy(tmp_path, _waiver(expires))
    second = _policy(tmp_path, _waiver(expires).replace(CVE, "CVE-0") + _waiver(expires))
    used = evaluate(_scan(_finding(), image="registry.example/a:1"), first, today=TODAY)
    other = evaluate(_scan(image="registry.example/b:1"), second, today=TODAY)
    both = Decision(
        verdict=Verdict.WARN,
        today=TODAY,
        policy="first.toml, second.toml",
        images=(*used.images, *other.images),
    )
    b = review_run(both, policies=["first.toml", "second.toml"]).images[1]
    # Across policies the facts alone count: the CVE waiver a used is that waiver. Its index 0 is CVE-0's in
    # the second policy, and does not make CVE-0 used.
    assert _unused(b) == ([("CVE-0", 0)], [0])
    one_policy = review_run(both).images[1]  # as if one policy had decided both: waivers[1] is another waiver
    assert _unused(one_policy) == ([("CVE-0", 0), (CVE, 1)], [0, 1])


def _on(platform: str, *findings: Finding) -> Scan:
    """A scan of one image name for `platform` ("" unknown), as each job of a multi-architecture build has."""
    scan = _scan(*findings)
    assert scan.image is not None
    return scan.model_copy(update={"image": scan.image.model_copy(update={"platform": platform})})


@pytest.mark.parametrize(
    ("platforms", "platform", "words"),
    [
        ('"linux/arm64"', "linux/arm64", None),
        ('"linux/arm64/v8"', "linux/arm64", None),  # arm64's default variant is dropped on both sides
        ('["linux/ARM64"]', "linux/aarch64/v8", None),  # aarch64 is arm64, case aside
        ('["linux/amd64", "linux/arm64"]', "linux/x86_64", None),
        ('"linux/arm"', "linux/arm/v7", None),  # no variant named: every variant
        ('"linux/arm64"', "linux/amd64", "platforms ['linux/arm64'] does not match linux/amd64"),
        ('"linux/arm/v7"', "linux/arm/v6", "platforms ['linux/arm/v7'] does not match linux/arm/v6"),
        # a variant named and none known: the image may be another variant, so it is not waived
        ('"linux/arm/v7"', "linux/arm", "platforms ['linux/arm/v7'] does not match linux/arm"),
        ('"windows/amd64"', "linux/amd64", "platforms ['windows/amd64'] does not match linux/amd64"),
        ('"linux/arm64"', "", "platforms ['linux/arm64'] does not match: the image's platform is unknown"),
        (
            '"linux/arm64"',
            "linux",
            "platforms ['linux/arm64'] does not match: the image's platform is unknown",
        ),
    ],
)
def test_a_platforms_scope_says_why_it_does_not_match(
    tmp_path: Path, platforms: str, platform: str, words: str | None
) -> None:
    [waiver] = _policy(tmp_path, _waiver(TODAY, f"platforms = {platforms}")).waivers
    assert waiver_mismatch(waiver, _finding(), image="app", platform=platform) == words
    [unscoped] = _policy(tmp_path, _waiver(TODAY)).waivers
    assert waiver_mismatch(unscoped, _finding(), image="app", platform=platform) is None


def test_a_platform_scoped_waiver_waives_on_its_platform_only(tmp_path: Path) -> None:
    policy = _policy(tmp_path, _waiver(TODAY + timedelta(days=60), 'platforms = ["linux/arm64/v8"]'))
    arm = evaluate(_on("linux/arm64", _finding()), policy, today=TODAY).images[0]
    assert arm.verdict is Verdict.PASS and [w.finding.id for w in arm.waived] == [CVE]
    assert [(s.state, s.platforms) for s in arm.waivers] == [(WaiverState.USED, ("linux/arm64/v8",))]
    amd = evaluate(_on("linux/amd64", _finding()), policy, today=TODAY).images[0]
    assert amd.verdict is Verdict.FAIL and amd.waived == ()
    # Not for this platform: not reviewed here, as a waiver for another image is not (no waiver-unused).
    assert amd.waivers == () and not any(r.subject == "waivers" for r in amd.rules)


def test_an_image_of_unknown_platform_is_not_waived_and_the_waiver_says_why(tmp_path: Path) -> None:
    policy = _policy(tmp_path, _waiver(TODAY + timedelta(days=60), 'platforms = ["linux/arm64"]'))
    decision = evaluate(_on("", _finding()), policy, today=TODAY)
    image = decision.images[0]
    assert decision.verdict is Verdict.FAIL and image.waived == ()
    assert image.outcomes[0].rules == ("fixable-critical-high",)
    # Reviewed all the same: a waiver that cannot apply is reported, not silently dropped.
    assert [s.state for s in image.waivers] == [WaiverState.UNUSED]
    triggered, explanation, _ = _rule(decision, "waiver-unused")
    assert triggered
    assert explanation.endswith(
        "matched no finding (owner team-a, ticket SEC-42); it names platforms ['linux/arm64'] and the image's "
        "platform is unknown"
    )


def test_unused_platform_scoped_waivers_over_the_images_of_a_multi_arch_run(tmp_path: Path) -> None:
    from gate.policy.decision import combine
    from gate.policy.waivers import review_run

    expires = TODAY + timedelta(days=60)
    # One waiver per platform, alike but for the platform: the arm64 one is used, the amd64 one is not (the
    # amd64 build does not ship the package). A third names both platforms and is used by arm64 only.
    policy = _policy(
        tmp_path,
        _waiver(expires, 'platforms = ["linux/arm64"]')
        + _waiver(expires, 'platforms = ["linux/amd64"]')
        + _waiver(expires, 'platforms = ["linux/amd64", "linux/arm64"]').replace(CVE, "GHSA-aaaa-bbbb-cccc"),
    )
    arm = evaluate(_on("linux/arm64", _finding()), policy, today=TODAY)
    amd = evaluate(_on("linux/amd64"), policy, today=TODAY)
    assert [s.platforms for s in amd.images[0].waivers] == [("linux/amd64",), ("linux/amd64", "linux/arm64")]
    run = review_run(combine([arm, amd]))
    arm_image, amd_image = run.images
    assert [(s.waiver_id, s.state) for s in arm_image.waivers] == [
        (CVE, WaiverState.USED),
        ("GHSA-aaaa-bbbb-cccc", WaiverState.USED),
    ]
    # The amd64 waiver is unused in every image of the run: still reported. The one of both platforms is not.
    assert [(s.waiver_id, s.platforms) for s in amd_image.waivers] == [(CVE, ("linux/amd64",))]
    assert [v.id for v in amd_image.violations if v.rule_id == "waiver-unused"] == [CVE]
    assert run.verdict is Verdict.WARN
