//! The TypeScript package: generated `index.js` + `index.d.ts` over the runtime in
//! `runtime/typescript/`, packed as an npm tarball.

use crate::model::{Api, Operation};
use crate::{Package, SampleCall, SdkError, Targets};

pub fn package(api: &Api, targets: &Targets, model_sha256: &str) -> Result<Package, SdkError> {
    let _ = (api, targets, model_sha256);
    Err(SdkError::Model {
        version: api.version.clone(),
        message: "the TypeScript generator is not written yet".into(),
    })
}

pub fn sample(api: &Api, package: &Package, operation: &Operation, call: SampleCall<'_>) -> String {
    let _ = (api, package, operation, call);
    String::new()
}
