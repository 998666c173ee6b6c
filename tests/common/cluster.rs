//! One test cluster on the shared LocalStack: its spec file, a recording proxy of its own,
//! and checks of the account made with the tests' own IAM client.

use rolecall::model::DesiredState;
use rolecall::policy;
use rolecall::spec::{parse_documents, SourceFile};

use super::spec::ClusterYaml;
use super::{
    iam_client, localstack, rolecall, scratch_dir, unique_cluster, write_spec, RecordingProxy, Run,
};

pub const NO_CHANGES: &str = "No changes need to be applied";
pub const MUST_SPECIFY_YES: &str = "Must specify --yes to apply changes";

pub struct Cluster {
    pub name: String,
    pub spec_path: String,
    pub proxy: RecordingProxy,
}

impl Cluster {
    pub async fn new(test: &str, yaml: impl Fn(&str) -> ClusterYaml) -> Cluster {
        Cluster::new_named(&unique_cluster(test), yaml).await
    }

    /// A new cluster for `test`, applied once, successfully.
    pub async fn applied(test: &str, yaml: impl Fn(&str) -> ClusterYaml) -> Cluster {
        let c = Cluster::new(test, yaml).await;
        c.apply().await.assert_code(0);
        c
    }

    /// A cluster with a name the test chose (from [`unique_cluster`]).
    pub async fn new_named(name: &str, yaml: impl Fn(&str) -> ClusterYaml) -> Cluster {
        let upstream = localstack();
        let name = name.to_string();
        let path = write_spec(&scratch_dir(&name), "cluster.yaml", &yaml(&name).render());
        Cluster {
            spec_path: path.display().to_string(),
            name,
            proxy: RecordingProxy::start(&upstream).await,
        }
    }

    pub fn rewrite(&self, yaml: ClusterYaml) {
        std::fs::write(&self.spec_path, yaml.render()).unwrap();
    }

    pub async fn dry_run(&self) -> Run {
        self.run(&[]).await
    }

    /// `update -f <spec>` with more arguments.
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["update", "-f", &self.spec_path];
        all.extend_from_slice(args);
        rolecall(&self.proxy.endpoint, &all).await
    }

    pub async fn apply(&self) -> Run {
        self.run(&["--yes"]).await
    }

    /// `update --yes --lifecycle-overrides <overrides>`.
    pub async fn apply_with_overrides(&self, overrides: &str) -> Run {
        self.run(&["--yes", "--lifecycle-overrides", overrides])
            .await
    }

    /// Applies again, counting requests afresh, and asserts that the plan had nothing left
    /// to change and nothing was written. The run, for more checks.
    pub async fn apply_again_quietly(&self) -> Run {
        self.proxy.clear();
        let again = self.apply().await;
        assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
        self.assert_no_writes();
        again
    }

    /// Applies, and asserts that it succeeded, that the writes since the proxy was last
    /// cleared are exactly `expected`, in order, and that the account then matches the spec.
    pub async fn assert_apply_writes(&self, expected: &[&str]) {
        self.apply().await.assert_code(0);
        assert_eq!(self.proxy.writes(), expected);
        assert_account_matches(&self.desired()).await;
    }

    /// Asserts that the proxy saw no write since it was last cleared.
    #[track_caller]
    pub fn assert_no_writes(&self) {
        let writes = self.proxy.writes();
        assert!(writes.is_empty(), "writes: {writes:?}");
    }

    /// The desired model, computed by rolecall's library from the same file.
    pub fn desired(&self) -> DesiredState {
        let text = std::fs::read_to_string(&self.spec_path).unwrap();
        let spec = parse_documents(&[SourceFile {
            path: self.spec_path.clone().into(),
            text,
        }])
        .unwrap();
        rolecall::desired::desired_state(&spec).unwrap()
    }

    pub fn role(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.name)
    }
}

/// Reads the account with the tests' own client and asserts it holds exactly the
/// desired roles, policies, profiles and links.
pub async fn assert_account_matches(desired: &DesiredState) {
    let iam = iam_client().await;
    for role in &desired.roles {
        let got = iam.get_role().role_name(&role.name).send().await;
        let got = got.unwrap_or_else(|e| panic!("role {} should exist: {e:?}", role.name));
        let got = got.role().unwrap();
        let trust = policy::decode_aws_document(got.assume_role_policy_document().unwrap());
        assert!(
            policy::equivalent(&trust, &role.trust_policy),
            "trust policy of {}: {trust}",
            role.name
        );
        for (k, v) in &role.tags {
            assert!(
                got.tags().iter().any(|t| t.key() == k && t.value() == v),
                "role {} lacks tag {k}={v}",
                role.name
            );
        }
    }
    for rp in &desired.role_policies {
        let got = iam
            .get_role_policy()
            .role_name(&rp.role)
            .policy_name(&rp.name);
        match (&rp.document, got.send().await) {
            (Some(doc), Ok(out)) => {
                let have = policy::decode_aws_document(out.policy_document());
                assert!(policy::equivalent(&have, doc), "policy {}: {have}", rp.name);
            }
            (Some(_), Err(e)) => panic!("policy {} should exist: {e:?}", rp.name),
            (None, Ok(_)) => panic!("policy {} should not exist", rp.name),
            (None, Err(e)) => assert!(
                format!("{e:?}").contains("NoSuchEntity"),
                "policy {}: {e:?}",
                rp.name
            ),
        }
    }
    for link in &desired.profile_roles {
        let roles = roles_in_profile(&iam, &link.profile).await;
        assert_eq!(
            roles,
            [link.role.as_str()],
            "roles in profile {}",
            link.profile
        );
    }
}

/// The roles in an instance profile, which must exist.
async fn roles_in_profile(iam: &aws_sdk_iam::Client, profile: &str) -> Vec<String> {
    let got = iam.get_instance_profile().instance_profile_name(profile);
    let got = got
        .send()
        .await
        .unwrap_or_else(|e| panic!("profile {profile} should exist: {e:?}"));
    let roles = got.instance_profile().unwrap().roles();
    roles.iter().map(|r| r.role_name().to_string()).collect()
}
