//! Kubernetes names in the spec: pod-role namespaces and IRSA service accounts. They end
//! up in the YAML rolecall prints for `kubectl apply` and in IAM trust conditions, so they
//! must be names Kubernetes takes: a newline in one would start a document of its own.

/// A namespace is a DNS-1123 label.
pub const MAX_NAMESPACE: usize = 63;
/// A service account's name is a DNS-1123 subdomain.
pub const MAX_SERVICE_ACCOUNT_NAME: usize = 253;

fn is_lower_alphanumeric(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Why `s` is not a DNS-1123 label (at most 63 lower-case letters, digits and '-', starting
/// and ending with a letter or digit), with `*` also taken as a letter when `wildcard`.
fn label_error(s: &str, wildcard: bool) -> Option<String> {
    let end_ok = |c: char| is_lower_alphanumeric(c) || (wildcard && c == '*');
    let char_ok = |c: char| end_ok(c) || c == '-';
    let length = s.chars().count();
    if length > MAX_NAMESPACE {
        return Some(format!(
            "{s:?} is {length} characters long; a Kubernetes namespace has at most {MAX_NAMESPACE}"
        ));
    }
    let ok = s.chars().all(char_ok) && s.starts_with(end_ok) && s.ends_with(end_ok);
    (!ok).then(|| {
        if wildcard {
            format!("{s:?} is not a Kubernetes namespace or pattern: use lower-case letters, digits, '-' and the wildcard *, starting and ending with a letter, a digit or *")
        } else {
            format!("{s:?} is not a valid Kubernetes namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit")
        }
    })
}

/// A namespace of a kube2iam or kiam pod role.
pub fn namespace_error(s: &str) -> Option<String> {
    label_error(s, false)
}

/// The namespace of an IRSA service account, where `*` matches any characters.
pub fn namespace_pattern_error(s: &str) -> Option<String> {
    label_error(s, true)
}

/// Why `s` is not a DNS-1123 subdomain (at most 253 characters; parts between dots of
/// lower-case letters, digits and '-', each starting and ending with a letter or digit).
pub fn service_account_name_error(s: &str) -> Option<String> {
    let length = s.chars().count();
    if length > MAX_SERVICE_ACCOUNT_NAME {
        return Some(format!(
            "{s:?} is {length} characters long; a Kubernetes service account's name has at most {MAX_SERVICE_ACCOUNT_NAME}"
        ));
    }
    let ok = s.split('.').all(|part| {
        !part.is_empty()
            && part.chars().all(|c| is_lower_alphanumeric(c) || c == '-')
            && part.starts_with(is_lower_alphanumeric)
            && part.ends_with(is_lower_alphanumeric)
    });
    (!ok).then(|| {
        format!("{s:?} is not a valid Kubernetes service account name: use lower-case letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_dns_labels() {
        for good in ["a", "kube-system", "team-1", "0", &"a".repeat(63)] {
            assert_eq!(namespace_error(good), None, "{good}");
        }
        for bad in [
            "Billing",
            "billing\nkind: Secret",
            "-a",
            "a-",
            "a.b",
            "a_b",
            "*",
            "a b",
            "",
        ] {
            assert!(namespace_error(bad).is_some(), "{bad:?}");
        }
        assert_eq!(
            namespace_error(&"a".repeat(64)).unwrap(),
            format!(
                "{:?} is 64 characters long; a Kubernetes namespace has at most 63",
                "a".repeat(64)
            )
        );
    }

    #[test]
    fn irsa_namespaces_may_hold_wildcards() {
        for good in ["*", "team-*", "*-prod", "a*b", "kube-system"] {
            assert_eq!(namespace_pattern_error(good), None, "{good}");
        }
        for bad in ["Team-*", "*\n*", "-*", "*-", "a?b"] {
            assert!(namespace_pattern_error(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn service_account_names_are_dns_subdomains() {
        for good in ["external-dns", "a.b-c.d", "0", &"a".repeat(253)] {
            assert_eq!(service_account_name_error(good), None);
        }
        for bad in [
            "External-DNS",
            "a..b",
            ".a",
            "a.",
            "a.-b",
            "a_b",
            "a\n---",
            &"a".repeat(254),
        ] {
            assert!(service_account_name_error(bad).is_some(), "{bad:?}");
        }
    }
}
