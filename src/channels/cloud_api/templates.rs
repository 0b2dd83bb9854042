//! Message templates: what the Graph API lists for a business account, the
//! values a template takes when it is sent ([`Shape`]: one typed list read
//! from its components), and the request that sends it with those values
//! (protocols-field 1.3).

use serde::Deserialize;
use serde_json::Value;

use crate::domain::template_shape::kind_of;
pub use crate::domain::template_shape::{
    Media, Param, Shape, Slot, percent_encode, placeholders, render,
};
use crate::infra::db::templates::NewTemplate;

/// A template as Graph lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphTemplate {
    /// Graph's template id (`hsm_id`), when listed.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub category: String,
    /// `POSITIONAL` (the default) or `NAMED`.
    #[serde(default)]
    pub parameter_format: Option<String>,
    #[serde(default)]
    pub components: Vec<Value>,
}

/// The highest `{{n}}` placeholder in `text` (0 if none).
impl GraphTemplate {
    /// What wacrm stores of it.
    pub fn to_stored(&self) -> NewTemplate {
        let body = self
            .components
            .iter()
            .find(|c| kind_of(c).eq_ignore_ascii_case("BODY"))
            .and_then(|c| c.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let format = self
            .parameter_format
            .clone()
            .unwrap_or_else(|| "POSITIONAL".to_owned())
            .to_ascii_uppercase();
        let components = Value::from(self.components.clone());
        let shape = Shape::parse(&components, &format);
        let (variables, other_parameters) = match &shape {
            Ok(shape) if shape.body_only() => {
                (i32::try_from(shape.params.len()).unwrap_or(0), false)
            }
            _ => (0, true),
        };
        NewTemplate {
            graph_id: self.id.clone(),
            name: self.name.clone(),
            language: self.language.clone(),
            category: self.category.clone(),
            status: self.status.clone(),
            parameter_format: format,
            body,
            variables: variables.min(100),
            other_parameters,
            components,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(components: Value, format: &str) -> Shape {
        Shape::parse(&components, format).unwrap()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn placeholders_and_rendering() {
        assert_eq!(placeholders("Hi {{1}}, order {{2}} ships {{ 3 }}"), 3);
        assert_eq!(placeholders("No variables, {not} {{x}}"), 0);
        assert_eq!(placeholders("Broken {{1"), 0);
        assert_eq!(
            render("Hi {{1}}, order {{2}}.", &["Ana".into(), "A-17".into()]),
            "Hi Ana, order A-17."
        );
    }

    #[test]
    fn a_body_only_template_is_stored_and_sent_with_its_values() {
        let template: GraphTemplate = serde_json::from_value(json!({
            "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Your order"},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way."},
                {"type": "FOOTER", "text": "Acme"}
            ]
        }))
        .unwrap();
        let stored = template.to_stored();
        assert_eq!(stored.body, "Hi {{1}}, order {{2}} is on its way.");
        assert_eq!((stored.variables, stored.other_parameters), (2, false));
        let shape = shape(stored.components, &stored.parameter_format);
        let labels: Vec<_> = shape.params.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["{{1}}", "{{2}}"]);
        let (sent, shown) = shape
            .build("order_update", "en_US", &strings(&["Ana", "A-17"]))
            .unwrap();
        assert_eq!(sent["language"]["code"], "en_US");
        assert_eq!(sent["components"][0]["type"], "body");
        assert_eq!(sent["components"][0]["parameters"][1]["text"], "A-17");
        assert!(
            sent["components"][0]["parameters"][0]
                .get("parameter_name")
                .is_none()
        );
        assert_eq!(shown, "Your order\n\nHi Ana, order A-17 is on its way.");
        let hello = Shape::parse(&json!([{"type": "BODY", "text": "Hello"}]), "POSITIONAL")
            .unwrap()
            .build("hello_world", "en_US", &[])
            .unwrap()
            .0;
        assert!(hello.get("components").is_none());
    }

    #[test]
    fn positional_values_go_in_number_order() {
        let shape = shape(json!([{"type": "BODY", "text": "{{2}} then {{1}}"}]), "");
        assert_eq!(shape.params[0].name, "1");
        let (sent, shown) = shape.build("t", "en", &strings(&["one", "two"])).unwrap();
        assert_eq!(sent["components"][0]["parameters"][0]["text"], "one");
        assert_eq!(shown, "two then one");
    }

    #[test]
    fn named_templates_send_each_value_with_its_name() {
        let components = json!([
            {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
            {"type": "BODY", "text": "Hi {{customer_name}}, {{order_id}} ships {{ day }}."}
        ]);
        let shape = shape(components, "NAMED");
        assert!(shape.named);
        let labels: Vec<_> = shape.params.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Header {{order_id}}",
                "{{customer_name}}",
                "{{order_id}}",
                "{{day}}"
            ]
        );
        let (sent, shown) = shape
            .build("named", "en_US", &strings(&["A1", "Ana", "A1", "Monday"]))
            .unwrap();
        assert_eq!(sent["components"][0]["type"], "header");
        assert_eq!(
            sent["components"][0]["parameters"][0]["parameter_name"],
            "order_id"
        );
        assert_eq!(
            sent["components"][1]["parameters"][0]["parameter_name"],
            "customer_name"
        );
        assert_eq!(sent["components"][1]["parameters"][0]["text"], "Ana");
        assert_eq!(shown, "Order A1\n\nHi Ana, A1 ships Monday.");
        // A body written with names is named even when the format is not given.
        assert!(self::shape(json!([{"type": "BODY", "text": "Hi {{name}}"}]), "").named);
    }

    #[test]
    fn media_location_and_button_values_are_sent_where_meta_expects_them() {
        let components = json!([
            {"type": "HEADER", "format": "DOCUMENT"},
            {"type": "BODY", "text": "Your invoice, {{1}}."},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}"},
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "COPY_CODE", "example": "25OFF"},
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550001"}
            ]}
        ]);
        let shape = shape(components, "POSITIONAL");
        assert!(!shape.body_only());
        assert_eq!(shape.params.len(), 5);
        let (sent, _) = shape
            .build(
                "invoice",
                "en_US",
                &strings(&[
                    "https://cdn.example/inv.pdf",
                    "Ana",
                    "A 1/2?x",
                    "STOP",
                    "25OFF",
                ]),
            )
            .unwrap();
        let c = &sent["components"];
        assert_eq!(c[0]["parameters"][0]["type"], "document");
        assert_eq!(
            c[0]["parameters"][0]["document"]["link"],
            "https://cdn.example/inv.pdf"
        );
        assert_eq!(c[2]["sub_type"], "url");
        assert_eq!(c[2]["index"], "0");
        assert_eq!(c[2]["parameters"][0]["text"], "A%201%2F2%3Fx");
        assert_eq!(c[3]["sub_type"], "quick_reply");
        assert_eq!(c[3]["index"], "1");
        assert_eq!(c[3]["parameters"][0]["payload"], "STOP");
        assert_eq!(c[4]["sub_type"], "copy_code");
        assert_eq!(c[4]["parameters"][0]["coupon_code"], "25OFF");
        // The quick-reply payload is optional; a media id works as well as a link.
        let (sent, _) = shape
            .build(
                "invoice",
                "en_US",
                &strings(&["1234567", "Ana", "x", "", "C"]),
            )
            .unwrap();
        assert_eq!(
            sent["components"][0]["parameters"][0]["document"]["id"],
            "1234567"
        );
        assert_eq!(sent["components"].as_array().unwrap().len(), 4);

        let location = self::shape(
            json!([{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Here"}]),
            "",
        );
        let (sent, _) = location
            .build("where", "en", &strings(&["-8.05", "-34.9", "Shop", ""]))
            .unwrap();
        let l = &sent["components"][0]["parameters"][0];
        assert_eq!(l["type"], "location");
        assert_eq!(l["location"]["latitude"], -8.05);
        assert_eq!(l["location"]["name"], "Shop");
        assert!(l["location"].get("address").is_none());
    }

    #[test]
    fn values_that_do_not_fit_are_refused_with_the_reason() {
        let components = json!([
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{1}}"},
            {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "X"}]}
        ]);
        let shape = shape(components, "");
        let errors = shape
            .build(
                "t",
                "en",
                &strings(&[
                    "http://plain.example/a.png",
                    "two\nlines",
                    "TOO-LONG-A-CODE-1",
                ]),
            )
            .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("https://"));
        assert!(errors[1].contains("line breaks"));
        assert!(errors[2].contains("at most 15"));
        let missing = shape.build("t", "en", &[]).unwrap_err();
        assert_eq!(missing.len(), 3);
        assert!(missing[1].starts_with("{{1}}: a value is required"));
        let location = self::shape(json!([{"type": "HEADER", "format": "LOCATION"}]), "");
        let errors = location
            .build("t", "en", &strings(&["north", "200", "", ""]))
            .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[1].contains("-180 to 180"));
    }

    #[test]
    fn what_wacrm_cannot_fill_is_named() {
        let carousel = Shape::parse(
            &json!([{"type": "BODY", "text": "x"}, {"type": "CAROUSEL", "cards": []}]),
            "",
        );
        assert_eq!(carousel.unwrap_err(), "a CAROUSEL component");
        let flow = Shape::parse(
            &json!([{"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Go"}]}]),
            "",
        );
        assert_eq!(flow.unwrap_err(), "a FLOW button");
        let stored = GraphTemplate {
            id: Some("9".into()),
            name: "f".into(),
            language: "en".into(),
            status: "APPROVED".into(),
            category: "UTILITY".into(),
            parameter_format: None,
            components: vec![json!({"type": "HEADER", "format": "IMAGE"})],
        }
        .to_stored();
        assert!(stored.other_parameters);
        assert_eq!(stored.graph_id.as_deref(), Some("9"));
    }
}
