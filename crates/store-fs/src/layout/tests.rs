use std::ffi::OsStr;

use proptest::prelude::*;

use super::*;

/// Decodes a whole relative path back into its key, as the listing walk does.
fn decode(names: &[String]) -> Option<String> {
    let mut key = String::new();
    let last = names.len().checked_sub(1)?;
    for (i, name) in names.iter().enumerate() {
        match parse_name(OsStr::new(name))? {
            Name::Object(s) if i == last => {
                key.push_str(&s);
                return Some(key);
            }
            Name::Dir(s) if i < last => {
                key.push_str(&s);
                key.push('/');
            }
            Name::Continued(s) if i < last => key.push_str(&s),
            _ => return None,
        }
    }
    None
}

#[test]
fn plain_keys_stay_readable() {
    assert_eq!(key_names("a"), ["a~"]);
    assert_eq!(key_names("a/b"), ["a", "b~"]);
    assert_eq!(
        key_names("photos/2024/cat.jpg"),
        ["photos", "2024", "cat.jpg~"]
    );
}

#[test]
fn empty_segments_dots_and_markers_are_escaped() {
    assert_eq!(key_names("/x"), ["%", "x~"]);
    assert_eq!(key_names("x/"), ["x", "%~"]);
    assert_eq!(key_names("a//b"), ["a", "%", "b~"]);
    assert_eq!(key_names(".."), ["%2e.~"]);
    assert_eq!(key_names("../etc/passwd"), ["%2e.", "etc", "passwd~"]);
    assert_eq!(key_names(".hidden"), ["%2ehidden~"]);
    assert_eq!(key_names("a~+%"), ["a%7e%2b%25~"]);
    assert_eq!(key_names("A"), ["%41~"]);
}

#[test]
fn nfc_and_nfd_forms_get_different_names() {
    let nfc = "caf\u{e9}";
    let nfd = "cafe\u{301}";
    assert_ne!(key_names(nfc), key_names(nfd));
    for names in [key_names(nfc), key_names(nfd)] {
        assert!(names.iter().all(|n| n.is_ascii()), "{names:?}");
    }
}

#[test]
fn long_segments_are_cut_into_continued_pieces() {
    let long = "x".repeat(450);
    let names = key_names(&long);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].ends_with('+') && names[1].ends_with('+'));
    assert!(names.iter().all(|n| n.len() <= MAX_PIECE + 1));
    assert_eq!(decode(&names).as_deref(), Some(long.as_str()));

    // Multi-byte characters are never cut in half; a piece may start with `.`.
    let mixed = format!("{}{}", "é".repeat(40), ".".repeat(300));
    let names = key_names(&mixed);
    assert!(names.iter().all(|n| n.len() <= MAX_PIECE + 1), "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(decode(&names).as_deref(), Some(mixed.as_str()));
}

#[test]
fn non_canonical_names_are_not_keys() {
    for name in [
        ".tmp-0123-1",
        ".store-fs.json",
        "A~",
        "a%61~",
        "%2E~",
        "%61~",
        "%~x",
        "%+",
        "~",
        "+",
        "",
        "a b~",
        "%zz~",
        "%4~",
        "%ff~",
    ] {
        assert_eq!(parse_name(OsStr::new(name)), None, "{name:?}");
    }
    assert_eq!(
        parse_name(OsStr::new("%~")),
        Some(Name::Object(String::new()))
    );
    assert_eq!(parse_name(OsStr::new("%")), Some(Name::Dir(String::new())));
}

proptest! {
    #[test]
    fn every_key_round_trips_through_short_ascii_names(key in "\\PC{1,300}|[a-zA-Z/.%~+ ]{1,60}") {
        let names = key_names(&key);
        for name in &names {
            prop_assert!(name.len() <= MAX_PIECE + 1, "{name}");
            prop_assert!(name.bytes().all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()));
            prop_assert!(!name.starts_with('.'));
            prop_assert!(name != "." && name != "..");
        }
        prop_assert_eq!(decode(&names), Some(key));
    }

    #[test]
    fn different_keys_get_different_paths(a in "[aA/é.]{1,12}", b in "[aA/é.]{1,12}") {
        prop_assume!(a != b);
        prop_assert_ne!(key_names(&a), key_names(&b));
    }
}
