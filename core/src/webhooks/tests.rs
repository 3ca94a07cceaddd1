//! Webhook tests that need no database (the schedule and jitter).

use super::*;

#[test]
fn the_schedule_is_documented_one_with_bounded_jitter() {
    let expected = [
        5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ];
    for (attempts, base) in (1_i64..).zip(expected) {
        assert_eq!(retry_delay_ms(attempts, 0.5), Some(base));
        assert_eq!(retry_delay_ms(attempts, 0.0), Some(base * 9 / 10));
        let high = retry_delay_ms(attempts, 0.999_999).unwrap();
        assert!(high <= base * 11 / 10 && high > base * 109 / 100, "{high}");
    }
    assert_eq!(retry_delay_ms(8, 0.5), None, "8 attempts in all");
    assert_eq!(retry_delay_ms(0, 0.5), None);
    for _ in 0..100 {
        let unit = random_unit();
        assert!((0.0..1.0).contains(&unit));
    }
}

#[test]
fn event_types_are_checked_and_stored_for_whole_word_matching() {
    let known = vec!["order.created".to_owned(), "order.cancelled".to_owned()];
    let input =
        |types: &'static [&'static str]| types.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    let types = input(&["order.cancelled", "order.created", "order.created"]);
    let (_, _, stored) = clean_input(
        &EndpointInput {
            url: " https://x.example/h ",
            description: "",
            event_types: &types,
        },
        &known,
    )
    .unwrap();
    assert_eq!(stored, " order.cancelled order.created ");
    let none = input(&[]);
    let bad = input(&["order.deleted"]);
    for types in [&none, &bad] {
        assert!(matches!(
            clean_input(
                &EndpointInput {
                    url: "https://x.example",
                    description: "",
                    event_types: types
                },
                &known
            ),
            Err(CoreError::Invalid(_))
        ));
    }
}
