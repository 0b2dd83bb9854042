use super::super::fake_stripe::FakeStripe;
use super::super::*;

pub async fn app_with_stripe(stripe: &FakeStripe) -> TestApp {
    let base = stripe.base_url();
    let app = spawn_app_without_worker_with(move |config| {
        config.stripe_secret_key = Some(fake_stripe::SECRET_KEY.to_owned().into());
        config.stripe_webhook_secret = Some(fake_stripe::WEBHOOK_SECRET.to_owned().into());
        config.stripe_api_url = base.parse().expect("url");
        config.stripe_price_starter = Some(fake_stripe::PRICE_STARTER.into());
        config.stripe_price_pro = Some(fake_stripe::PRICE_PRO.into());
    })
    .await;
    stripe.set_webhook(&app.browser().url("/webhooks/stripe"));
    app
}
