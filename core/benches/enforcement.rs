//! The enforcement hot path: token issuance, verification (cold and cached), Cedar decisions
//! (cold and cached), and both together as the gateway runs them.
//! Run with `cargo bench -p portico-core --bench enforcement`.

use criterion::{Criterion, criterion_group, criterion_main};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::authz::{Authorizer, AuthzRequest, Principal, Resource, ResourceType};
use portico_core::enforce::{Enforcer, PresentedCredentials};
use portico_core::testing::{self, TestDatabase};
use portico_core::tokens::keys::{self, SigningAlg};
use std::hint::black_box;
use std::sync::Arc;

fn enforcement(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (test_db, tokens, app) = runtime.block_on(async {
        let test_db = TestDatabase::sqlite().await;
        let tokens = testing::token_service(&test_db.db).await;
        let scopes = Scopes::parse("commercial:read commercial:write").expect("scopes");
        let (app, _) = create_app(&test_db.db, "acme", "Acme", "Bench", &scopes, "sandbox")
            .await
            .expect("app");
        (test_db, tokens, app)
    });
    let tokens = Arc::new(tokens);
    let authorizer = Arc::new(Authorizer::embedded().expect("policies"));
    let enforcer = Enforcer::new(tokens.clone(), authorizer.clone());
    let token = tokens.issue(&app, None).expect("token").access_token;
    let bearer = format!("Bearer {token}");
    let credentials = PresentedCredentials {
        authorization: Some(&bearer),
        oidc_access_token: None,
    };
    let principal = Principal::Application {
        client_id: app.client_id.clone(),
        partner_id: "acme".into(),
        scopes: vec!["commercial:read".into(), "commercial:write".into()],
    };
    let order = Resource {
        kind: ResourceType::new("Order"),
        id: "ord_1".into(),
        tenant_id: "acme".into(),
        owner_sub: None,
    };
    let request = AuthzRequest {
        principal: &principal,
        action: "commercial:GetOrder",
        resource: &order,
    };

    c.bench_function("token/issue ES256", |b| {
        b.iter(|| tokens.issue(black_box(&app), None).expect("issue"))
    });
    c.bench_function("token/verify ES256 uncached", |b| {
        b.iter(|| tokens.verify_uncached(black_box(&token)).expect("verify"));
    });
    c.bench_function("token/verify cached", |b| {
        b.iter(|| tokens.verify(black_box(&token)).expect("verify"))
    });
    c.bench_function("cedar/decision uncached", |b| {
        b.iter(|| authorizer.authorize_uncached(black_box(&request)))
    });
    c.bench_function("cedar/decision cached", |b| {
        b.iter(|| authorizer.authorize(black_box(&request)))
    });
    c.bench_function("enforce/verify+authorize cached", |b| {
        b.iter(|| {
            enforcer
                .enforce(
                    black_box(credentials),
                    "commercial:GetOrder",
                    &order,
                    &["commercial:read"],
                )
                .expect("allowed")
        });
    });
    c.bench_function("enforce/verify+authorize uncached", |b| {
        b.iter(|| {
            let verified = tokens.verify_uncached(black_box(&token)).expect("verify");
            let principal = Principal::Application {
                client_id: verified.claims.client_id,
                partner_id: verified.claims.partner_id,
                scopes: verified.scopes.iter().map(str::to_owned).collect(),
            };
            authorizer.authorize_uncached(&AuthzRequest {
                principal: &principal,
                action: "commercial:GetOrder",
                resource: &order,
            })
        });
    });

    // The other algorithms, for comparison.
    for alg in [SigningAlg::Rs256, SigningAlg::EdDsa] {
        let tokens = runtime.block_on(async {
            keys::rotate(&test_db.db, &testing::test_sealer(), alg, true)
                .await
                .expect("rotate");
            testing::token_service(&test_db.db).await
        });
        let token = tokens.issue(&app, None).expect("token").access_token;
        c.bench_function(&format!("token/issue {}", alg.as_str()), |b| {
            b.iter(|| tokens.issue(black_box(&app), None).expect("issue"))
        });
        c.bench_function(&format!("token/verify {} uncached", alg.as_str()), |b| {
            b.iter(|| tokens.verify_uncached(black_box(&token)).expect("verify"));
        });
    }
    runtime.block_on(test_db.cleanup());
}

criterion_group!(benches, enforcement);
criterion_main!(benches);
