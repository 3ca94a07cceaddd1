use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignIn() -> impl IntoView {
    view! {
        <Title text="Sign in" />
        <h1>"Sign in"</h1>
        <div class="panel">
            <p>
                "Administrators sign in with the one-time link that " <code>"portico"</code>
                " prints on its first start, or that " <code>"portico admin create --email you@example.com"</code>
                " prints for a new admin. Links are valid for 24 hours and work once."
            </p>
            <p>"Partner accounts are created by invitation from your Portico administrator."</p>
        </div>
    }
}
