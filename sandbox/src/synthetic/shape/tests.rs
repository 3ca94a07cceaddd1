use super::*;
use serde_json::json;

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap()
}

fn minor(view: &str, from: &str) -> FieldMap {
    FieldMap {
        view: path(view),
        stored: path(from),
        conversion: Conversion::MinorUnits {
            scale: 2,
            stored: NumberForm::DecimalString,
        },
    }
}

fn copy(view: &str, from: &str) -> FieldMap {
    FieldMap {
        view: path(view),
        stored: path(from),
        conversion: Conversion::Copy,
    }
}

/// The shipped v1 order as a view of the v2 order.
fn order_view() -> (Value, Vec<FieldMap>) {
    let schema = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "currency": {"type": "string"},
            "total_cents": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "product_id": {"type": "string"},
                "quantity": {"type": "integer"},
                "unit_price_cents": {"type": "integer"}
            }}}
        }
    });
    let maps = vec![
        copy("currency", "total.currency"),
        minor("total_cents", "total.amount"),
        minor("items[].unit_price_cents", "items[].unit_price.amount"),
    ];
    (schema, maps)
}

fn stored_order_schema() -> Value {
    let money = json!({"type": "object", "properties": {
        "amount": {"type": "string"}, "currency": {"type": "string"}
    }});
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "total": money,
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "product_id": {"type": "string"},
                "quantity": {"type": "integer"},
                "unit_price": money
            }}}
        }
    })
}

#[test]
fn decimals_are_exact_and_round_half_away_from_zero() {
    let d = |text: &str| Decimal::parse(text).unwrap();
    assert_eq!(d("129.90").minor_units(2), Some(12990));
    assert_eq!(d("0.07").minor_units(2), Some(7));
    // 0.1 + 0.2 is exactly 0.3 (no binary floating point anywhere).
    assert_eq!(d("0.1").checked_add(d("0.2")).unwrap().to_text(), "0.3");
    assert_eq!(d("1.005").with_scale(2).unwrap().to_text(), "1.01");
    assert_eq!(d("1.004").with_scale(2).unwrap().to_text(), "1.00");
    assert_eq!(d("-1.005").with_scale(2).unwrap().to_text(), "-1.01");
    assert_eq!(Decimal::from_minor_units(5, 2).to_text(), "0.05");
    assert_eq!(Decimal::from_minor_units(-5, 2).to_text(), "-0.05");
    assert_eq!(Decimal::from_minor_units(123_456, 0).to_text(), "123456");
    assert_eq!(
        Decimal::from_minor_units(99_999_999_999_999, 2).to_text(),
        "999999999999.99"
    );
    for bad in ["", "1.", ".5", "1e3", "12a", "--1", "1.2.3"] {
        assert_eq!(Decimal::parse(bad), None, "{bad}");
    }
    assert_eq!(Decimal::from_json(&json!(42)), Some(d("42")));
    assert_eq!(Decimal::from_json(&json!(2.5)), Some(d("2.5")));
    assert_eq!(Decimal::from_json(&json!(true)), None);
    assert_eq!(d("2.50").to_json(NumberForm::Integer), None);
    assert_eq!(d("2.00").to_json(NumberForm::Integer), Some(json!(2)));
    assert_eq!(d("2.50").to_json(NumberForm::Number), Some(json!(2.5)));
}

#[test]
fn a_view_converts_money_in_nested_arrays_both_ways() {
    let (view_schema, maps) = order_view();
    let stored = json!({
        "id": "ord_1",
        "total": {"amount": "1290.53", "currency": "EUR"},
        "items": [
            {"product_id": "prd_a", "quantity": 3, "unit_price": {"amount": "0.01", "currency": "EUR"}},
            {"product_id": "prd_b", "quantity": 1, "unit_price": {"amount": "1290.50", "currency": "EUR"}}
        ],
        "not_in_the_view": true
    });
    let view = to_view(&stored, &view_schema, &maps).unwrap();
    assert_eq!(
        view,
        json!({
            "id": "ord_1",
            "currency": "EUR",
            "total_cents": 129_053,
            "items": [
                {"product_id": "prd_a", "quantity": 3, "unit_price_cents": 1},
                {"product_id": "prd_b", "quantity": 1, "unit_price_cents": 129_050}
            ]
        })
    );
    // And back: everything the view carries lands where it came from.
    let back = to_stored(&view, &stored_order_schema(), &maps);
    assert_eq!(back["total"], stored["total"]);
    assert_eq!(back["items"][1]["unit_price"]["amount"], "1290.50");
    assert_eq!(back["items"][0]["unit_price"], json!({"amount": "0.01"}));
    assert_eq!(back["items"][0]["product_id"], "prd_a");
    assert_eq!(back["id"], "ord_1");

    // A partial request body: only what it has.
    let body =
        json!({"currency": "GBP", "items": [{"product_id": "prd_a", "quantity": 2}], "junk": 1});
    assert_eq!(
        to_stored(&body, &stored_order_schema(), &maps),
        json!({"total": {"currency": "GBP"}, "items": [{"product_id": "prd_a", "quantity": 2}]})
    );

    // Arrays of arrays: each element of each element.
    let maps = vec![minor("boxes[].parts[].cents", "boxes[].parts[].price")];
    let view_schema = json!({"properties": {"boxes": {"items": {"properties": {
        "parts": {"items": {"properties": {"cents": {"type": "integer"}}}}
    }}}}});
    let stored = json!({"boxes": [
        {"parts": [{"price": "1.10"}, {"price": "2.25"}]},
        {"parts": []},
        {"parts": [{"price": "0.99"}]}
    ]});
    assert_eq!(
        to_view(&stored, &view_schema, &maps).unwrap(),
        json!({"boxes": [
            {"parts": [{"cents": 110}, {"cents": 225}]},
            {"parts": []},
            {"parts": [{"cents": 99}]}
        ]})
    );

    // Garbage in the stored item is an error, not a wrong number.
    let bad = json!({"total": {"amount": "12,50"}});
    let (view_schema, maps) = order_view();
    assert!(matches!(
        to_view(&bad, &view_schema, &maps),
        Err(ShapeError::NotDecimal { .. })
    ));
}

fn order_rules() -> Vec<Computed> {
    vec![
        Computed {
            target: path("total.currency"),
            rule: Rule::SharedBy {
                array: path("items"),
                field: path("unit_price.currency"),
            },
        },
        Computed {
            target: path("total.amount"),
            rule: Rule::SumOf {
                array: path("items"),
                multiply: vec![path("quantity"), path("unit_price.amount")],
                scale: Some(2),
                output: NumberForm::DecimalString,
            },
        },
    ]
}

#[test]
fn totals_are_the_sum_of_the_lines_exactly() {
    let mut order = json!({
        "total": {"amount": "999.99", "currency": "EUR"},
        "items": [
            {"quantity": 3, "unit_price": {"amount": "0.10", "currency": "USD"}},
            {"quantity": 1000, "unit_price": {"amount": "19.99", "currency": "GBP"}},
            {"quantity": 7, "unit_price": {"amount": "0.01", "currency": "EUR"}}
        ]
    });
    apply_computed(&mut order, &order_rules(), Computing::Seed).unwrap();
    // 0.30 + 19990.00 + 0.07, with no float drift; the lines take the order's currency.
    assert_eq!(
        order["total"],
        json!({"amount": "19990.37", "currency": "EUR"})
    );
    assert!(
        order["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|line| line["unit_price"]["currency"] == "EUR")
    );

    // Rounding happens once, on the sum, half away from zero.
    let rules = vec![Computed {
        target: path("total"),
        rule: Rule::SumOf {
            array: path("lines"),
            multiply: vec![path("qty"), path("price")],
            scale: Some(2),
            output: NumberForm::DecimalString,
        },
    }];
    let mut thirds = json!({"lines": [{"qty": 3, "price": "0.335"}, {"qty": 1, "price": 0.0}]});
    apply_computed(&mut thirds, &rules, Computing::Seed).unwrap();
    assert_eq!(thirds["total"], "1.01"); // 1.005 → 1.01
    // No scale: as many decimals as the factors give.
    let rules = vec![Computed {
        target: path("total"),
        rule: Rule::SumOf {
            array: path("lines"),
            multiply: vec![path("qty"), path("price")],
            scale: None,
            output: NumberForm::DecimalString,
        },
    }];
    let mut exact = json!({"lines": [{"qty": 3, "price": "0.335"}]});
    apply_computed(&mut exact, &rules, Computing::Seed).unwrap();
    assert_eq!(exact["total"], "1.005");
    // Integer totals of integer lines; an empty order sums to zero.
    let rules = vec![Computed {
        target: path("total_cents"),
        rule: Rule::SumOf {
            array: path("lines"),
            multiply: vec![path("qty"), path("cents")],
            scale: None,
            output: NumberForm::Integer,
        },
    }];
    let mut cents = json!({"lines": [{"qty": 2, "cents": 1999}, {"qty": 1, "cents": 1}]});
    apply_computed(&mut cents, &rules, Computing::Seed).unwrap();
    assert_eq!(cents["total_cents"], 3999);
    let mut empty = json!({"lines": []});
    apply_computed(&mut empty, &rules, Computing::Seed).unwrap();
    assert_eq!(empty["total_cents"], 0);
    // A factor that is not a number is an error.
    let mut broken = json!({"lines": [{"qty": "many", "cents": 1}]});
    assert!(matches!(
        apply_computed(&mut broken, &rules, Computing::Seed),
        Err(ComputeError::Shape(ShapeError::NotDecimal { .. }))
    ));
}

#[test]
fn created_items_must_share_their_currency() {
    let line = |amount: &str, currency: &str| json!({"quantity": 2, "unit_price": {"amount": amount, "currency": currency}});
    // Nothing asked: the lines decide.
    let mut order = json!({"total": {"amount": "1.00", "currency": "CHF"},
        "items": [line("1.50", "USD"), line("2.00", "USD")]});
    let provided = json!({"items": [{}, {}]});
    apply_computed(
        &mut order,
        &order_rules(),
        Computing::Create {
            provided: &provided,
        },
    )
    .unwrap();
    assert_eq!(order["total"], json!({"amount": "7.00", "currency": "USD"}));

    // The request names the currency: every line must have it.
    let mut order =
        json!({"items": [line("1.50", "USD"), line("2.00", "EUR"), line("1.00", "GBP")]});
    let provided = json!({"total": {"currency": "EUR"}});
    let Err(ComputeError::Mismatch(found)) = apply_computed(
        &mut order,
        &order_rules(),
        Computing::Create {
            provided: &provided,
        },
    ) else {
        panic!("mixed currencies were accepted");
    };
    assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(found[0].expected, "EUR");
    assert_eq!(found[0].found, "USD");
    assert_eq!(found[0].field.as_str(), "unit_price.currency");
}
