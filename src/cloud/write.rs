//! Writes: the one SDK call that carries out each operation.

use std::fmt;
use std::future::Future;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;

use super::error::{cloud_error, is_absent};
use super::{Cloud, CloudError};
use crate::model::Tags;
use crate::operation::Operation;

impl Cloud {
    /// Sends the SDK call for `op` once; `execute` decides what its errors mean.
    pub(super) async fn execute_once(&self, op: &Operation) -> Result<(), CloudError> {
        match op {
            Operation::CreateRole {
                name,
                path,
                trust_policy,
                tags,
                permissions_boundary,
            } => {
                let req = self
                    .iam
                    .create_role()
                    .role_name(name)
                    .path(path)
                    .assume_role_policy_document(trust_policy)
                    .set_permissions_boundary(permissions_boundary.clone())
                    .set_tags(Some(iam_tags(tags)));
                self.write(op, req.send()).await
            }
            Operation::UpdateAssumeRolePolicy { role, trust_policy } => {
                let req = self
                    .iam
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust_policy);
                self.write(op, req.send()).await
            }
            Operation::PutRolePermissionsBoundary { role, arn } => {
                let req = self
                    .iam
                    .put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(arn);
                self.write(op, req.send()).await
            }
            Operation::DeleteRolePermissionsBoundary { role } => {
                let req = self.iam.delete_role_permissions_boundary().role_name(role);
                self.write(op, req.send()).await
            }
            Operation::PutRolePolicy {
                role,
                name,
                document,
            } => {
                let req = self
                    .iam
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document);
                self.write(op, req.send()).await
            }
            Operation::DeleteRolePolicy { role, name } => {
                let req = self
                    .iam
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(name);
                self.write(op, req.send()).await
            }
            Operation::CreateInstanceProfile { name, path, tags } => {
                let req = self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(name)
                    .path(path)
                    .set_tags(Some(iam_tags(tags)));
                self.write(op, req.send()).await
            }
            Operation::AttachRolePolicy { role, policy_arn } => {
                let req = self
                    .iam
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn);
                self.write(op, req.send()).await
            }
            Operation::DetachRolePolicy { role, policy_arn } => {
                let req = self
                    .iam
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn);
                self.write(op, req.send()).await
            }
            Operation::DeleteRole { name } => {
                let req = self.iam.delete_role().role_name(name);
                self.write(op, req.send()).await
            }
            Operation::CreateOpenIdConnectProvider {
                url,
                client_ids,
                tags,
                thumbprints,
                ..
            } => {
                let req = self
                    .iam
                    .create_open_id_connect_provider()
                    .url(url)
                    .set_client_id_list(Some(client_ids.clone()))
                    .set_thumbprint_list((!thumbprints.is_empty()).then(|| thumbprints.clone()))
                    .set_tags(Some(iam_tags(tags)));
                self.write(op, req.send()).await
            }
            Operation::AddClientIdToOpenIdConnectProvider { arn, client_ids } => {
                for id in client_ids {
                    let req = self
                        .iam
                        .add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .client_id(id);
                    self.write(op, req.send()).await?;
                }
                Ok(())
            }
            Operation::AddRoleToInstanceProfile { profile, role } => {
                let req = self
                    .iam
                    .add_role_to_instance_profile()
                    .instance_profile_name(profile)
                    .role_name(role);
                self.write(op, req.send()).await
            }
            Operation::RemoveRoleFromInstanceProfile { profile, role } => {
                let req = self
                    .iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(profile)
                    .role_name(role);
                self.write(op, req.send()).await
            }
            Operation::DeleteInstanceProfile { name } => {
                let req = self
                    .iam
                    .delete_instance_profile()
                    .instance_profile_name(name);
                self.write(op, req.send()).await
            }
            Operation::DeleteOpenIdConnectProvider { arn } => {
                let req = self
                    .iam
                    .delete_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn);
                self.write(op, req.send()).await
            }
        }
    }

    /// One write of `op`, counted and bounded like every call, its error named after the
    /// operation's target.
    async fn write<T, E, R>(
        &self,
        op: &Operation,
        send: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<(), CloudError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        match self.call(op.action(), send).await {
            Ok(_) => Ok(()),
            Err(e) if op.absent_is_done() && is_absent(&e) => Ok(()),
            Err(e) => Err(cloud_error(op.action(), op.target(), e)),
        }
    }
}

fn iam_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}
