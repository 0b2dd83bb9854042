use super::super::*;

/// The member works 09:00–12:00 every day of the week.
pub async fn works_every_morning(owner: &Browser, member: uuid::Uuid) {
    let mut hours = vec![];
    for weekday in 1..=7 {
        hours.push((format!("d{weekday}_starts"), "09:00".to_owned()));
        hours.push((format!("d{weekday}_ends"), "12:00".to_owned()));
    }
    let fields: Vec<(&str, &str)> = hours
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = owner
        .post_form(&format!("/settings/bookings/hours/{member}"), &fields)
        .await;
    assert_eq!(response.status(), 303);
}
