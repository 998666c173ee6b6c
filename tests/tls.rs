//! HTTPS as rolecall speaks it, through the AWS SDK's default client (hyper and rustls),
//! against LocalStack's TLS port, which serves a self-signed certificate for `localhost`.
//! Untrusted, the certificate is refused in one line; trusted through `SSL_CERT_FILE`, as the
//! system's roots are read, the run goes through; `HTTPS_PROXY` and `NO_PROXY` are honoured.

use crate::common;

use common::cluster::NO_CHANGES;
use common::spec::ClusterYaml;
use common::{
    iam_client, localstack, rolecall_with_env, scratch_dir, unique_cluster, write_spec, TEST_KEYS,
};

/// The certificate LocalStack serves on `port`, in PEM, read by Python's ssl module (LocalStack
/// runs on Python, so it is on every machine that runs these tests).
fn served_certificate(port: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import ssl,sys; print(ssl.get_server_certificate(('127.0.0.1', int(sys.argv[1]))))",
            port,
        ])
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn https_is_verified_against_the_trusted_roots_and_proxies_are_honoured() {
    let endpoint = localstack();
    let port = endpoint.rsplit(':').next().unwrap().to_string();
    let https = format!("https://localhost:{port}");
    let cluster = unique_cluster("tls");
    let dir = scratch_dir(&cluster);
    let spec = write_spec(&dir, "cluster.yaml", &ClusterYaml::new(&cluster).render());
    let spec = spec.to_str().unwrap();
    let pem = dir.join("localstack.pem");
    std::fs::write(&pem, served_certificate(&port)).unwrap();
    let pem = pem.to_str().unwrap();
    let aws = TEST_KEYS.to_vec();
    let once = ["update", "-f", spec, "--max-attempts", "1"];

    // The system's roots do not hold LocalStack's certificate: refused, named, one line each.
    let untrusted = rolecall_with_env(&https, &once, &aws).await;
    untrusted.assert_code(1);
    untrusted.assert_stderr_has("TLS handshake failed: invalid peer certificate: UnknownIssuer");
    assert!(
        !untrusted.stderr.contains("DispatchFailure"),
        "{untrusted:?}"
    );

    // Trusted as a CA file: the run goes through over TLS and the account holds its roles.
    let mut trusted = aws.clone();
    trusted.push(("SSL_CERT_FILE", pem));
    let applied = rolecall_with_env(&https, &["update", "-f", spec, "--yes"], &trusted).await;
    applied.assert_code(0);
    let role = iam_client()
        .await
        .get_role()
        .role_name(format!("nodes.{cluster}"))
        .send()
        .await;
    assert!(role.is_ok(), "{role:?}");

    // A proxy in the environment carries the calls (here one that refuses connections)...
    let mut proxied = trusted.clone();
    proxied.push(("HTTPS_PROXY", "http://127.0.0.1:9"));
    let refused = rolecall_with_env(&https, &once, &proxied).await;
    refused.assert_code(1);
    refused.assert_stderr_has("tunnel error");
    // ... unless NO_PROXY names the host.
    let mut bypassed = proxied.clone();
    bypassed.push(("NO_PROXY", "localhost"));
    let direct = rolecall_with_env(&https, &once, &bypassed).await;
    direct.assert_code(0);
    assert_eq!(direct.last_line(), NO_CHANGES, "{direct:?}");
}
