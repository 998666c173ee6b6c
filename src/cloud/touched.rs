//! The reads behind a saved plan's fingerprints: each object a plan's changes touch, read
//! alone with the single reads `fetch` is made of, so that planning (`update --out`) and
//! applying (`apply PLAN`) read them the same way and their fingerprints compare.

use std::collections::BTreeMap;

use tokio::task::JoinSet;

use super::{Cloud, CloudError, Read};
use crate::saved_plan::fingerprint::{Fingerprint, Seen};
use crate::saved_plan::touched::Touched;

impl Cloud {
    /// Each object read once, concurrently, and fingerprinted. Absent and denied are
    /// answers; any other error stops.
    pub async fn fingerprints(
        &self,
        objects: &[Touched],
    ) -> Result<BTreeMap<Touched, Fingerprint>, CloudError> {
        let mut reads = JoinSet::new();
        for object in objects {
            let (cloud, object) = (self.clone(), object.clone());
            reads.spawn(async move {
                let found = cloud.fingerprint(&object).await;
                (object, found)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = reads.join_next().await {
            let (object, found) = joined.expect("read task panicked");
            out.insert(object, found?);
        }
        Ok(out)
    }

    async fn fingerprint(&self, object: &Touched) -> Result<Fingerprint, CloudError> {
        fn of<T>(read: Read<T>, seen: impl FnOnce(&T) -> Fingerprint) -> Fingerprint {
            match read {
                Read::Found(v) => seen(&v),
                Read::Absent => Fingerprint::of(Seen::Absent),
                Read::Denied(_) => Fingerprint::of(Seen::Denied),
            }
        }
        Ok(match object {
            Touched::Role { name } => of(self.get_role(name).await?, |r| {
                Fingerprint::of(Seen::Role(r))
            }),
            Touched::RolePolicy { role, name } => {
                of(self.get_role_policy(role, name).await?, |d| {
                    Fingerprint::of(Seen::Policy(d))
                })
            }
            Touched::InstanceProfile { name } => of(self.get_instance_profile(name).await?, |p| {
                Fingerprint::of(Seen::Profile(p))
            }),
            Touched::OidcProvider { arn } => of(self.get_oidc_provider(arn).await?, |p| {
                Fingerprint::of(Seen::Provider(p))
            }),
            Touched::Attachment { role, policy_arn } => {
                match self.attached_policies(role).await {
                    Ok(arns) => Fingerprint::of(Seen::Attached(arns.contains(policy_arn))),
                    // No role, no attachment.
                    Err(e) if e.code.as_deref() == Some("NoSuchEntity") => {
                        Fingerprint::of(Seen::Absent)
                    }
                    Err(e)
                        if matches!(
                            e.code.as_deref(),
                            Some("AccessDenied" | "AccessDeniedException")
                        ) =>
                    {
                        Fingerprint::of(Seen::Denied)
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }
}
