//! A program's argument with members in braces: `--in={PUF21000.bin}`,
//! `{payload/rom.bin}`, `{}` (the directory of handed files); `{{` and `}}`
//! stand for literal braces.

use crate::model::MemberName;

/// One piece of an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `{MEMBER}`: where the member's bytes are handed.
    Member(MemberName),
    /// `{}`: the directory of handed files (`--as-files` only).
    Dir,
}

/// Split `arg` into pieces; `Err` says what is wrong with the braces or the
/// member name.
pub fn parse(arg: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => {
                return Err(format!(
                    "'{arg}': a lone '}}' (write '}}}}' for a literal one)"
                ))
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => {
                            return Err(format!(
                                "'{arg}': '{{' opens a member name that is not closed by '}}' (write '{{{{' for a literal one)"
                            ))
                        }
                        Some(c) => inner.push(c),
                    }
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(member(arg, &inner)?);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn member(arg: &str, inner: &str) -> Result<Piece, String> {
    if inner.is_empty() {
        return Ok(Piece::Dir);
    }
    MemberName::parse(inner.as_bytes())
        .map(Piece::Member)
        .map_err(|e| format!("'{arg}': {{{inner}}} is not a member name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Piece {
        Piece::Member(MemberName::parse(s.as_bytes()).unwrap())
    }

    #[test]
    fn members_text_and_escapes() {
        assert_eq!(
            parse("--in={PUF21000.bin}").unwrap(),
            vec![Piece::Text("--in=".into()), name("PUF21000.bin")]
        );
        assert_eq!(
            parse("{a/b.bin}:{}").unwrap(),
            vec![name("a/b.bin"), Piece::Text(":".into()), Piece::Dir]
        );
        assert_eq!(parse("{{x}}").unwrap(), vec![Piece::Text("{x}".into())]);
        assert_eq!(parse("").unwrap(), vec![Piece::Text(String::new())]);
        assert!(parse("{x").is_err());
        assert!(parse("x}").is_err());
        assert!(parse("{../x}").is_err());
    }
}
