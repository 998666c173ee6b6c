//! Which kops generation a spec is built for: `--kops-version`, or what the spec shows.

use super::*;

fn inferred(spec_lines: &str) -> Result<ClusterSpec, InputErrors> {
    let text = with_cluster(spec_lines);
    parse_documents_as(
        &[SourceFile {
            path: "cluster.yaml".into(),
            text,
        }],
        None,
    )
}

fn generation_of(spec_lines: &str) -> Generation {
    inferred(spec_lines).unwrap().generation.generation
}

fn refusal(spec_lines: &str) -> String {
    inferred(spec_lines).unwrap_err().to_string()
}

#[test]
fn the_kubernetes_version_tells_each_release() {
    assert_eq!(
        generation_of("  kubernetesVersion: 1.10.6\n"),
        Generation::Kops110
    );
    assert_eq!(
        generation_of("  kubernetesVersion: v1.9.3\n"),
        Generation::Kops110
    );
    assert_eq!(
        generation_of("  kubernetesVersion: 1.31.0\n"),
        Generation::Kops136
    );
    assert_eq!(
        generation_of("  kubernetesVersion: v1.36.1\n"),
        Generation::Kops136
    );
    let spec = inferred("  kubernetesVersion: 1.31.0\n").unwrap();
    assert_eq!(
        spec.generation.reason,
        "inferred from spec.kubernetesVersion 1.31.0 at cluster.yaml:16:22"
    );
    assert!(spec.kops136.is_some());
}

#[test]
fn a_version_of_the_releases_in_between_is_refused_without_a_choice() {
    let e = refusal("  kubernetesVersion: 1.25.3\n");
    assert_eq!(e, "cluster.yaml:16:22: spec.kubernetesVersion: 1.25.3 is run by kops releases 1.11 to 1.35, whose IAM rolecall does not build; pass --kops-version 1.10 or 1.36 to choose the IAM to build");
    let chosen = parse_documents_as(
        &[SourceFile {
            path: "c.yaml".into(),
            text: with_cluster("  kubernetesVersion: 1.25.3\n"),
        }],
        Some(Generation::Kops136),
    )
    .unwrap();
    assert_eq!(chosen.generation.generation, Generation::Kops136);
    assert_eq!(chosen.generation.reason, "chosen by --kops-version");
}

#[test]
fn no_fact_at_all_is_an_error_not_a_guess() {
    assert_eq!(
        refusal(""),
        "cluster.yaml:2:7: spec.kubernetesVersion: is missing, and nothing else in the spec tells which kops made the cluster; set it (kops always writes it) or pass --kops-version 1.10 or 1.36"
    );
}

#[test]
fn later_fields_alone_mean_kops_136_and_legacy_means_kops_110() {
    assert_eq!(
        generation_of(
            "  externalPolicies:\n    node:\n    - arn:aws:iam::aws:policy/ReadOnlyAccess\n"
        ),
        Generation::Kops136
    );
    let legacy = with_cluster("").replace("legacy: false", "legacy: true");
    let spec = parse_documents_as(
        &[SourceFile {
            path: "c.yaml".into(),
            text: legacy,
        }],
        None,
    )
    .unwrap();
    assert_eq!(spec.generation.generation, Generation::Kops110);
}

#[test]
fn facts_of_both_releases_are_refused_naming_both() {
    let e = refusal("  kubernetesVersion: 1.10.6\n  externalPolicies:\n    node:\n    - arn:aws:iam::aws:policy/ReadOnlyAccess\n");
    assert_eq!(e, "cluster.yaml:17:3: spec: the spec mixes kops releases: spec.kubernetesVersion 1.10.6 (cluster.yaml:16:22) belongs to kops 1.10, spec.externalPolicies (kops 1.18.0 and later) to kops 1.36; pass --kops-version 1.10 or 1.36 to choose the IAM to build");
}

#[test]
fn kops_136_refuses_legacy_iam() {
    let legacy =
        with_cluster("  kubernetesVersion: 1.31.0\n").replace("legacy: false", "legacy: true");
    let e = parse_documents_as(
        &[SourceFile {
            path: "c.yaml".into(),
            text: legacy,
        }],
        Some(Generation::Kops136),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("c.yaml:9:13: spec.iam.legacy: legacy IAM was removed in kops 1.19"),
        "{e}"
    );
}

#[test]
fn kops_136_reads_its_defaults() {
    let k = inferred("  kubernetesVersion: 1.31.0\n")
        .unwrap()
        .kops136
        .unwrap();
    assert!(k.node_termination_handler_queue_mode, "on by default");
    assert!(k.ebs_csi_driver_managed);
    assert_eq!(k.external_dns_provider, "dns-controller");
    assert!(k.allow_container_registry);
    let k = inferred("  kubernetesVersion: 1.31.0\n  nodeTerminationHandler:\n    enableSQSTerminationDraining: false\n  externalPolicies:\n    master:\n    - arn:aws:iam::aws:policy/A\n")
        .unwrap()
        .kops136
        .unwrap();
    assert!(!k.node_termination_handler_queue_mode);
    assert_eq!(
        k.external_policies["control-plane"],
        ["arn:aws:iam::aws:policy/A"]
    );
}
