//! The SDKs the portal serves: `/docs/sdks` lists every version's packages with install
//! commands and checksums that match the bytes served under `/sdk/{language}/{version}/…`,
//! `latest` redirects to the current file, and every reference page leads its code samples
//! with the SDK tabs (CSS-only tabs: no script involved).

use crate::common::TestApp;
use axum::http::StatusCode;

#[tokio::test]
async fn the_sdk_page_lists_install_commands_and_checksums_of_the_served_files() {
    let app = TestApp::sqlite().await;
    let page = app.get_portal("/docs/sdks").await;
    assert_eq!(page.status, StatusCode::OK);
    for version in ["v2", "v1"] {
        for (language, install) in [("typescript", "npm install"), ("python", "pip install")] {
            let index = app
                .get_portal(&format!("/sdk/{language}/{version}/index.json"))
                .await;
            assert_eq!(index.status, StatusCode::OK, "{language} {version}");
            let index = index.json();
            let major = version.trim_start_matches('v');
            assert!(
                index["version"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{major}.")),
                "the SDK's major version is the API's: {index}"
            );
            let files = index["files"].as_array().unwrap();
            assert!(!files.is_empty());
            for file in files {
                let name = file["name"].as_str().unwrap();
                let url = file["url"].as_str().unwrap();
                assert_eq!(
                    url,
                    format!("http://portal.test/sdk/{language}/{version}/{name}")
                );
                let served = app
                    .get_portal(&format!("/sdk/{language}/{version}/{name}"))
                    .await;
                assert_eq!(served.status, StatusCode::OK, "{name}");
                assert!(
                    served.header("content-disposition").contains(name),
                    "{name}"
                );
                let sha256 = portico_sdk::sha256_hex(&served.bytes);
                assert_eq!(file["sha256"], sha256.as_str(), "{name}");
                assert_eq!(file["size"], served.bytes.len(), "{name}");
                // The page shows the same checksum, and the first file's install command.
                assert!(page.body.contains(&sha256), "{name}'s SHA-256 on the page");
            }
            let first = files[0]["name"].as_str().unwrap();
            assert!(
                page.body.contains(&format!(
                    "<code>{install} http://portal.test/sdk/{language}/{version}/{first}</code>"
                )),
                "install command for {language} {version}"
            );
        }
    }
    // The packages' archives are what their names say.
    let tgz = app
        .get_portal("/sdk/typescript/v2/portico-commercial-2.0.0.tgz")
        .await;
    assert_eq!(tgz.status, StatusCode::OK);
    assert_eq!(&tgz.bytes[..2], &[0x1f, 0x8b], "gzip");
    assert_eq!(tgz.header("content-type"), "application/gzip");
    let wheel = app
        .get_portal("/sdk/python/v2/portico_commercial-2.0.0-py3-none-any.whl")
        .await;
    assert_eq!(wheel.status, StatusCode::OK);
    assert_eq!(&wheel.bytes[..4], b"PK\x03\x04", "zip");
    // The quick starts are on the page and served as files, which the run commands fetch.
    assert!(page.body.contains("PorticoCommercialClient"));
    for (language, file, run) in [
        (
            "typescript",
            "quickstart.mts",
            "npx --yes tsx quickstart.mts",
        ),
        ("python", "quickstart.py", "python quickstart.py"),
    ] {
        let quick_start = app.get_portal(&format!("/sdk/{language}/v2/{file}")).await;
        assert_eq!(quick_start.status, StatusCode::OK, "{file}");
        assert!(
            quick_start.body.contains("PorticoCommercialClient"),
            "{file}"
        );
        assert!(
            page.body.contains(&format!(
                "<code>curl -fsSO http://portal.test/sdk/{language}/v2/{file} &amp;&amp; {run}</code>"
            )),
            "the run command of {file}"
        );
    }
    assert!(page.body.contains("Pinning a version"));
}

#[tokio::test]
async fn latest_redirects_to_the_current_file_and_unknown_sdks_are_404() {
    let app = TestApp::sqlite().await;
    let latest = app.get_portal("/sdk/typescript/v2/latest.tgz").await;
    assert_eq!(latest.status, StatusCode::FOUND);
    assert_eq!(
        latest.header("location"),
        "/sdk/typescript/v2/portico-commercial-2.0.0.tgz"
    );
    let wheel = app.get_portal("/sdk/python/v2/latest.whl").await;
    assert_eq!(wheel.status, StatusCode::FOUND);
    assert!(wheel.header("location").ends_with("-py3-none-any.whl"));
    for path in [
        "/sdk/go/v2/latest.tgz",
        "/sdk/typescript/v9/latest.tgz",
        "/sdk/typescript/v0/latest.tgz",
        "/sdk/typescript/v2/latest.zip",
        "/sdk/typescript/v2/portico-commercial-1.0.0.tgz",
        "/sdk/python/v2/..%2F..%2Fetc%2Fpasswd",
    ] {
        let res = app.get_portal(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn reference_pages_lead_their_samples_with_sdk_tabs_that_need_no_script() {
    let app = TestApp::sqlite().await;
    let docs = app.shared.docs.current();
    for version in docs.versions().iter().filter(|v| !v.operations.is_empty()) {
        let has_sdk = docs.sdk(&version.name).is_some();
        for op in &version.operations {
            let page = app
                .get_portal(&format!("/reference/{}/{}", version.name, op.id))
                .await;
            assert_eq!(page.status, StatusCode::OK);
            let keys: Vec<&str> = op.samples.iter().map(|s| s.key.as_str()).collect();
            if has_sdk {
                assert_eq!(
                    keys,
                    [
                        "typescript-sdk",
                        "python-sdk",
                        "curl",
                        "python",
                        "typescript",
                        "rust"
                    ],
                    "{} {}",
                    version.name,
                    op.id
                );
                let ts = &op.samples[0].code;
                let method = portico_sdk::names::camel(&op.id);
                assert!(ts.contains(&format!("client.{method}(")), "{ts}");
                let py = &op.samples[1].code;
                let method = portico_sdk::names::snake(&op.id);
                assert!(py.contains(&format!("client.{method}(")), "{py}");
            }
            // One radio per sample, the first checked, each labelled, each panel present.
            let radios = page.body.matches(r#"class="tab-radio""#).count();
            assert_eq!(radios, op.samples.len(), "{}", op.id);
            assert_eq!(page.body.matches(" checked").count(), 1, "{}", op.id);
            for key in &keys {
                assert!(page.body.contains(&format!(r#"for="sample-tab-{key}""#)));
                assert!(page.body.contains(&format!(r#"data-language="{key}""#)));
            }
        }
    }
    let css = app.get_portal(portico_app_stylesheet()).await;
    assert!(
        css.body
            .contains(".tab-radio:nth-of-type(1):checked ~ section.sample:nth-of-type(1)")
    );
}

fn portico_app_stylesheet() -> &'static str {
    portico_app::STYLESHEET_PATH
}
