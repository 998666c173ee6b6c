//! The input catalogue: every kind of bad input, run through the rolecall binary with the
//! recording proxy in front of LocalStack. Each gets one clear error naming the file, line or
//! field, exit code 1, and the proxy shows that no request reached AWS.

use crate::common;

use common::spec::ClusterYaml;
use common::{
    localstack, rolecall, rolecall_with_env, rolecall_with_stdin, scratch_dir, unique_cluster,
    write_spec, RecordingProxy,
};

/// Runs rolecall on `text` and checks it was refused before any request.
async fn refused(test: &str, text: &str, extra: &[&str]) -> (String, String) {
    let name = unique_cluster(test);
    let path = write_spec(&scratch_dir(&name), "cluster.yaml", text);
    let proxy = RecordingProxy::start(&localstack()).await;
    let path = path.display().to_string();
    let mut args = vec!["update", "-f", path.as_str(), "--yes"];
    args.extend_from_slice(extra);
    let run = rolecall(&proxy.endpoint, &args).await;
    run.assert_code(1);
    assert!(
        proxy.actions().is_empty(),
        "requests reached AWS: {:?}",
        proxy.actions()
    );
    assert_eq!(run.stdout, "", "{run:?}");
    (run.stderr, path)
}

fn cluster() -> String {
    ClusterYaml::new("inputs.k8s.local").render()
}

/// Runs rolecall on `text` (see [`refused`]) and asserts its one error: `message` at
/// `place` (`line:column`) of the file.
async fn assert_refused_at(test: &str, text: &str, place: &str, message: &str) {
    let (err, path) = refused(test, text, &[]).await;
    assert_eq!(err, format!("Error: {path}:{place}: {message}\n"), "{test}");
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

/// `line:column` (1-based, columns in characters) of the first occurrence of `needle`.
fn place_of(text: &str, needle: &str) -> String {
    let line = line_of(text, needle);
    let l = text.lines().nth(line - 1).unwrap();
    let column = l[..l.find(needle).unwrap()].chars().count() + 1;
    format!("{line}:{column}")
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_yaml() {
    let text = cluster().replace("  cloudProvider: aws\n", "  cloudProvider: [aws\n");
    let (err, path) = refused("malformed", &text, &[]).await;
    assert!(err.starts_with(&format!("Error: {path}:")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_cluster_or_two() {
    let text = cluster();
    let groups = &text[text.find("---").unwrap() + 4..];
    let (err, _) = refused("no-cluster", groups, &[]).await;
    assert_eq!(
        err,
        "Error: kind: no Cluster document in the input; one is required\n"
    );
    let doubled = format!("{text}---\n{text}");
    let (err, path) = refused("two-clusters", &doubled, &[]).await;
    let second = line_of(&doubled[1..], "kind: Cluster") + 1;
    assert!(
        err.starts_with(&format!(
            "Error: kind: 2 Cluster documents in the input ({path}:2:7, {path}:"
        )),
        "{err} (second at line {second})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_instance_group_role() {
    let text = cluster().replace("role: Bastion", "role: Jumphost");
    let place = format!("{}:9", line_of(&text, "role: Jumphost"));
    assert_refused_at("role", &text, &place, "spec.role: unknown instance group role \"Jumphost\"; valid roles are Master, Node and Bastion").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_roles_on_one_profile_and_an_invalid_profile_arn() {
    let arn = "arn:aws:iam::000000000000:instance-profile/shared";
    let text = cluster()
        .replace(
            "  role: Node\n",
            &format!("  role: Node\n  iam:\n    profile: {arn}\n"),
        )
        .replace(
            "  role: Bastion\n",
            &format!("  role: Bastion\n  iam:\n    profile: {arn}\n"),
        );
    let (err, _) = refused("shared-profile", &text, &[]).await;
    assert!(
        err.contains(&format!("spec.iam.profile: instance groups nodes (Node) and bastions (Bastion) share the instance profile {arn}; a profile holds one role")),
        "{err}"
    );
    let text = cluster().replace(
        "  role: Node\n",
        "  role: Node\n  iam:\n    profile: nodes-profile\n",
    );
    let place = format!("{}:14", line_of(&text, "profile: nodes-profile"));
    assert_refused_at("bad-arn", &text, &place, "spec.iam.profile: \"nodes-profile\" is not an instance profile ARN such as arn:aws:iam::123456789012:instance-profile/name").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn additional_policies_bad_json_bad_effect_unknown_key() {
    let bad_json = ClusterYaml::new("inputs.k8s.local")
        .with_node_policy("[\n  {\"Effect\": \"Allow\",\n   \"Action\": [\"sqs:*\",]}\n]")
        .render();
    let place = format!("{}:7", line_of(&bad_json, "      ["));
    assert_refused_at("bad-json", &bad_json, &place, "spec.additionalPolicies.node: is not valid JSON: trailing comma at line 3 column 23 of the policy").await;
    let bad_effect = ClusterYaml::new("inputs.k8s.local")
        .with_node_policy(r#"[{"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]"#)
        .render();
    let (err, _) = refused("bad-effect", &bad_effect, &[]).await;
    assert!(err.contains("spec.additionalPolicies.node: statement 0, Effect: \"Permit\" is not an effect; it must be \"Allow\" or \"Deny\""), "{err}");
    let unknown = cluster().replace(
        "  etcdClusters:",
        "  additionalPolicies:\n    workers: '[]'\n  etcdClusters:",
    );
    let (err, _) = refused("unknown-key", &unknown, &[]).await;
    assert!(err.contains("spec.additionalPolicies.workers: unknown role key \"workers\"; valid keys are master, node and bastion"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_a_policy_over_10240_and_a_role_name_over_64() {
    let resources: Vec<String> = (0..400)
        .map(|i| format!("\"arn:aws:s3:::bucket-{i:04}/*\""))
        .collect();
    let big = ClusterYaml::new("inputs.k8s.local")
        .with_node_policy(&format!(
            r#"[{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": [{}]}}]"#,
            resources.join(", ")
        ))
        .render();
    let (err, _) = refused("too-big", &big, &[]).await;
    assert!(err.contains("spec.additionalPolicies.node: the inline policies of role nodes.inputs.k8s.local add up to"), "{err}");
    assert!(
        err.contains("characters without white space; IAM allows at most 10240"),
        "{err}"
    );

    let long = format!("{}.k8s.local", "x".repeat(60));
    let (err, _) = refused("long-name", &ClusterYaml::new(&long).render(), &[]).await;
    assert!(err.contains(&format!("metadata.name: the role name \"masters.{long}\" is 78 characters long; IAM allows at most 64")), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_lifecycle_overrides() {
    let (err, _) = refused(
        "bad-lifecycle",
        &cluster(),
        &["--lifecycle-overrides", "IAMRole=Sometimes"],
    )
    .await;
    assert_eq!(
        err,
        "Error: --lifecycle-overrides: unknown lifecycle \"Sometimes\" in \"IAMRole=Sometimes\"; valid lifecycles are Sync, Ignore, WarnIfInsufficientAccess, ExistsAndValidates, ExistsAndWarnIfChanges\n"
    );
    let (err, _) = refused(
        "bad-type",
        &cluster(),
        &["--lifecycle-overrides", "IAMUser=Ignore"],
    )
    .await;
    assert!(err.starts_with("Error: --lifecycle-overrides: unknown type \"IAMUser\" in \"IAMUser=Ignore\"; valid types are IAMInstanceProfile, "), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file() {
    let proxy = RecordingProxy::start(&localstack()).await;
    let run = rolecall(
        &proxy.endpoint,
        &["update", "-f", "/nonexistent/cluster.yaml"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "Error: /nonexistent/cluster.yaml: cannot read the file: No such file or directory (os error 2)\n");
    assert!(proxy.actions().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_region_or_no_credentials() {
    let name = unique_cluster("no-creds");
    // Without subnets the spec names no region either.
    let text = ClusterYaml::new(&name).render().replace(
        "  subnets:\n  - name: us-east-1a\n    zone: us-east-1a\n",
        "",
    );
    let path = write_spec(&scratch_dir(&name), "cluster.yaml", &text)
        .display()
        .to_string();
    let proxy = RecordingProxy::start(&localstack()).await;
    let args = ["update", "-f", path.as_str()];

    let no_region = rolecall_with_env(
        &proxy.endpoint,
        &args,
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    )
    .await;
    no_region.assert_code(1);
    no_region.assert_stderr_has("Error: no AWS region: set AWS_REGION");

    let no_credentials =
        rolecall_with_env(&proxy.endpoint, &args, &[("AWS_REGION", "us-east-1")]).await;
    no_credentials.assert_code(1);
    no_credentials.assert_stderr_has("Error: no AWS credentials found");
    assert!(proxy.actions().is_empty(), "{:?}", proxy.actions());
}

/// Issue 11: statements IAM refuses used to pass the dry run and stop an apply halfway
/// (a bare KMS key id made IAM refuse the masters' policy after 11 other changes). Each is
/// now refused before any request, at the line and element it stands on.
#[tokio::test(flavor = "multi_thread")]
async fn statements_iam_would_refuse() {
    const FIELD: &str = "spec.additionalPolicies.node";
    for (test, statements, needle, message) in [
        (
            "no-action",
            r#"[{"Effect": "Allow", "Resource": "*"}]"#,
            r#"{"Effect""#,
            "statement 0 has no Action or NotAction; IAM needs exactly one of them",
        ),
        (
            "both-actions",
            r#"[{"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}]"#,
            r#"{"Effect""#,
            "statement 0 has both Action and NotAction; IAM takes exactly one of them",
        ),
        (
            "no-prefix",
            r#"[{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}]"#,
            r#""Action""#,
            "statement 0, Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *",
        ),
        (
            "principal",
            r#"[{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}]"#,
            r#""Principal""#,
            "statement 0, Principal: an identity policy takes no Principal; IAM refuses it (\"Policy document should not specify a principal\"). Whom a role trusts belongs in its trust policy",
        ),
        (
            "not-an-arn",
            r#"[{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::logs/*", "logs-bucket"]}]"#,
            r#""Resource""#,
            "statement 0, Resource[1]: \"logs-bucket\" is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it",
        ),
    ] {
        let text = ClusterYaml::new("inputs.k8s.local")
            .with_node_policy(statements)
            .render();
        let place = place_of(&text, needle);
        assert_refused_at(test, &text, &place, &format!("{FIELD}: {message}")).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_kms_key_id() {
    let text = cluster().replace(
        "kmsKeyId: arn:aws:kms:us-east-1:000000000000:key/test-key",
        "kmsKeyId: key-id-1",
    );
    let place = place_of(&text, "key-id-1");
    assert_refused_at("bare-kms-key", &text, &place, "spec.etcdClusters[0].etcdMembers[0].kmsKeyId: \"key-id-1\" is not a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab; kops grants the masters this key as a policy Resource, where IAM takes only ARNs").await;
}

/// Issue 11 point 6: namespaces end up in the YAML for `kubectl apply`, where a newline
/// would start a document of its own.
#[tokio::test(flavor = "multi_thread")]
async fn pod_role_namespaces_that_are_not_kubernetes_names() {
    let field = "spec.iam.podIdentity.roles[0].namespaces[0]";
    for (test, namespaces, shown) in [
        ("ns-capitals", "[Billing]", r#""Billing""#),
        (
            "ns-newline",
            r#"["billing\n---\nkind: Secret"]"#,
            r#""billing\n---\nkind: Secret""#,
        ),
    ] {
        let text = ClusterYaml::new("inputs.k8s.local")
            .with_iam(&format!(
                "    podIdentity:\n      mode: kube2iam\n      roles:\n      - name: billing\n        namespaces: {namespaces}\n        policyARNs: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n"
            ))
            .render();
        let place = place_of(&text, &namespaces[1..]);
        let message = format!("{field}: {shown} is not a valid Kubernetes namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit");
        assert_refused_at(test, &text, &place, &message).await;
    }
}

/// Issue 13: a field of a later kops release that changes IAM was read as if absent, and
/// the plan said "No changes". With kops 1.10 chosen it is refused at its place before any
/// request; without a choice, beside a Kubernetes version only kops 1.10 runs, the spec
/// mixes releases (issue 14), which is refused too, naming both.
#[tokio::test(flavor = "multi_thread")]
async fn a_field_of_a_later_kops_release() {
    let text = ClusterYaml::new("inputs.k8s.local")
        .with_spec("  externalPolicies:\n    node:\n    - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\n")
        .render();
    let place = place_of(&text, "externalPolicies");
    let (err, path) = refused("later-field", &text, &["--kops-version", "1.10"]).await;
    assert_eq!(err, format!("Error: {path}:{place}: spec.externalPolicies: a field of kops 1.18.0 and later, where it attaches managed policies to the roles; rolecall builds the IAM of kops 1.10, which has no such field, so it refuses the field whatever its value (even one that changes nothing)\n"));
    let version = place_of(&text, "1.10.6");
    let (err, path) = refused("later-field-mixed", &text, &[]).await;
    assert_eq!(err, format!("Error: {path}:{place}: spec: the spec mixes kops releases: spec.kubernetesVersion 1.10.6 ({path}:{version}) belongs to kops 1.10, spec.externalPolicies (kops 1.18.0 and later) to kops 1.36; pass --kops-version 1.10 or 1.36 to choose the IAM to build\n"));
}

/// Issue 13: `kops get all -o yaml | rolecall update -f -`. The Keyset is skipped with one
/// note naming it in `<stdin>`; the dry run reads the account and writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn kops_get_output_on_standard_input() {
    let name = unique_cluster("stdin");
    let keyset = "apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nmetadata:\n  creationTimestamp: null\n  name: ca\nspec:\n  keys:\n  - id: \"6543210\"\n  type: Keypair\n";
    let text = format!(
        "{}\n---\n\n{keyset}",
        ClusterYaml::new(&name).render().trim_end()
    );
    let place = format!("{}:7", line_of(&text, "kind: Keyset"));
    let proxy = RecordingProxy::start(&localstack()).await;
    let run = rolecall_with_stdin(&proxy.endpoint, &["update", "-f", "-"], &text).await;
    run.assert_code(0);
    assert_eq!(
        run.stderr,
        format!("note: skipped 1 document rolecall does not use: Keyset/ca (<stdin>:{place})\n"),
        "{run:?}"
    );
    run.assert_stdout_starts("Will create resources:\n");
    run.assert_stdout_has(&format!("IAMRole/masters.{name}\n"));
    assert!(!proxy.actions().is_empty(), "the dry run read nothing");
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
}
