//! The tokenizer libtraceevent runs over event format files and print fmts
//! (`__read_token`, `read_token`, `read_token_item` in event-parse.c).
//!
//! Tokens are C strings there, so a token stops at its first NUL byte here
//! too. Quoted strings keep their backslashes (escapes are handled later by
//! the print-fmt splitter), and adjacent double-quoted strings are joined.
//! One deliberate difference: an unterminated quote at the end of the input
//! makes libtraceevent loop forever; here it ends the token stream.

/// `enum tep_event_type`, in its C order (the parser compares ranges).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tok {
    Error,
    None,
    Space,
    Newline,
    Op,
    Delim,
    Item,
    DQuote,
    SQuote,
}

impl Tok {
    /// `event_item_type`: an item or a quoted string.
    pub(crate) fn is_item(self) -> bool {
        matches!(self, Tok::Item | Tok::DQuote | Tok::SQuote)
    }
}

/// C `isspace` in the C locale.
pub(crate) fn is_c_space(ch: i32) -> bool {
    matches!(ch, 0x20 | 0x09..=0x0d)
}

/// `get_type`: the class of one character (a signed C `char`, -1 at the end).
fn char_type(ch: i32) -> Tok {
    if ch == i32::from(b'\n') {
        return Tok::Newline;
    }
    if is_c_space(ch) {
        return Tok::Space;
    }
    if (0..128).contains(&ch) {
        let c = ch as u8;
        if c.is_ascii_alphanumeric() || c == b'_' {
            return Tok::Item;
        }
        if c == b'\'' {
            return Tok::SQuote;
        }
        if c == b'"' {
            return Tok::DQuote;
        }
        if !(0x20..0x7f).contains(&c) {
            return Tok::None;
        }
        if matches!(c, b'(' | b')' | b',') {
            return Tok::Delim;
        }
        return Tok::Op;
    }
    Tok::None
}

/// A cursor over one format buffer (`input_buf`/`input_buf_ptr`).
pub(crate) struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A token and its text (empty for `Tok::None`, as C's NULL token).
pub(crate) type Token = (Tok, Vec<u8>);

impl<'a> Lexer<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Lexer { buf, pos: 0 }
    }

    /// `__read_char`: the next byte as a signed char, or -1 at the end.
    fn read_char(&mut self) -> i32 {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                i32::from(b as i8)
            }
            None => -1,
        }
    }

    /// `peek_char`.
    fn peek(&self) -> i32 {
        self.buf.get(self.pos).map_or(-1, |&b| i32::from(b as i8))
    }

    /// `__read_token`: one token, spaces and newlines included.
    pub(crate) fn read_raw(&mut self) -> Token {
        let ch = self.read_char();
        if ch < 0 {
            return (Tok::None, Vec::new());
        }
        let ty = char_type(ch);
        if ty == Tok::None {
            return (Tok::None, Vec::new());
        }
        let mut buf = vec![ch as u8];
        match ty {
            Tok::Newline | Tok::Delim => return (ty, buf),
            Tok::Op => {
                let c = ch as u8;
                let mut test_equal = matches!(c, b'!' | b'=');
                if c == b'-' && self.peek() == i32::from(b'>') {
                    buf.push(b'>');
                    self.pos += 1;
                } else if matches!(c, b'-' | b'+' | b'|' | b'&' | b'>' | b'<') {
                    if self.peek() != ch {
                        test_equal = true;
                    } else {
                        buf.push(c);
                        self.pos += 1;
                        test_equal = matches!(c, b'>' | b'<');
                    }
                }
                if test_equal && self.peek() == i32::from(b'=') {
                    buf.push(b'=');
                    self.pos += 1;
                }
                return (Tok::Op, buf);
            }
            Tok::DQuote | Tok::SQuote => return self.read_quoted(ty, ch),
            _ => {}
        }
        while char_type(self.peek()) == ty {
            buf.push(self.read_char() as u8);
        }
        if ty == Tok::Item {
            // Work-arounds for old mac80211 formats (see __read_token).
            let forced: &[u8] = match buf.as_slice() {
                b"LOCAL_PR_FMT" => b"%s",
                b"STA_PR_FMT" => b" sta:%pM",
                b"VIF_PR_FMT" => b" vif:%p(%d)",
                _ => return (ty, c_str(buf)),
            };
            return (Tok::DQuote, forced.to_vec());
        }
        (ty, c_str(buf))
    }

    /// The quoted-string branch of `__read_token`: quotes dropped, a quote
    /// after a backslash kept, following double-quoted strings appended.
    fn read_quoted(&mut self, ty: Tok, quote: i32) -> Token {
        let mut buf = Vec::new();
        let mut ch = quote;
        loop {
            loop {
                let last = ch;
                if self.pos >= self.buf.len() {
                    // C would spin here forever; stop the token stream instead.
                    return (Tok::None, Vec::new());
                }
                ch = self.read_char();
                buf.push(ch as u8);
                if ch == quote && last != i32::from(b'\\') {
                    break;
                }
            }
            buf.pop();
            if ty != Tok::DQuote {
                break;
            }
            let save = self.pos;
            let mut next = self.read_char();
            while is_c_space(next) {
                next = self.read_char();
            }
            if next == i32::from(b'"') {
                ch = next;
                continue;
            }
            self.pos = save;
            break;
        }
        (ty, c_str(buf))
    }

    /// `read_token`: the next token that is not spaces.
    pub(crate) fn read(&mut self) -> Token {
        loop {
            let t = self.read_raw();
            if t.0 != Tok::Space {
                return t;
            }
        }
    }

    /// `read_token_item`: the next token that is neither spaces nor a newline.
    pub(crate) fn read_item(&mut self) -> Token {
        loop {
            let t = self.read_raw();
            if t.0 != Tok::Space && t.0 != Tok::Newline {
                return t;
            }
        }
    }

    /// `read_expected` (`newline_ok`: spaces only skipped) or
    /// `read_expected_item` (newlines skipped too).
    pub(crate) fn expect(&mut self, ty: Tok, text: &[u8], skip_newlines: bool) -> bool {
        let (t, s) = if skip_newlines {
            self.read_item()
        } else {
            self.read()
        };
        t == ty && s == text
    }

    /// `read_expect_type` (spaces skipped): the token's text if it has type `ty`.
    pub(crate) fn expect_type(&mut self, ty: Tok) -> Option<Vec<u8>> {
        let (t, s) = self.read();
        (t == ty).then_some(s)
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }
}

/// A token as C sees it: up to its first NUL.
fn c_str(mut v: Vec<u8>) -> Vec<u8> {
    if let Some(n) = v.iter().position(|&b| b == 0) {
        v.truncate(n);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> Vec<(Tok, String)> {
        let mut l = Lexer::new(s.as_bytes());
        let mut out = Vec::new();
        loop {
            let (t, v) = l.read();
            if t == Tok::None {
                return out;
            }
            out.push((t, String::from_utf8(v).unwrap()));
        }
    }

    #[test]
    fn operators_pair_like_libtraceevent() {
        let toks: Vec<String> = all("a->b >>= c<<1 != ! == && || -- - > >= +=")
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(
            toks,
            [
                "a", "->", "b", ">>=", "c", "<<", "1", "!=", "!", "==", "&&", "||", "--", "-", ">",
                ">=", "+="
            ]
        );
    }

    #[test]
    fn strings_concatenate_and_keep_escapes() {
        let t = all("\"a\\n\" \n \"b\\\"c\", 'x'");
        assert_eq!(t[0], (Tok::DQuote, "a\\nb\\\"c".to_string()));
        assert_eq!(t[1], (Tok::Delim, ",".to_string()));
        assert_eq!(t[2], (Tok::SQuote, "x".to_string()));
    }

    #[test]
    fn unterminated_string_ends_the_stream() {
        assert!(all("\"abc").is_empty());
    }
}
