//! Parse then write gives the same bits: the round trip every re-made
//! stream rests on.

use trees_deflate::parse::{End, ParseError, Parser};
use trees_deflate::stream::Block;
use trees_deflate::write::Writer;

/// Parses a whole stream: its blocks, plain text and end.
pub fn parse_all(stream: &[u8]) -> Result<(Vec<Block>, Vec<u8>, End), ParseError> {
    let mut p = Parser::new(stream);
    let mut out = Vec::new();
    let mut blocks = Vec::new();
    while let Some(b) = p.next_block(&mut out, 1 << 26)? {
        blocks.push(b);
    }
    let end = p.end()?;
    Ok((blocks, out, end))
}

/// Writes blocks back, taking stored bytes from `plain`.
pub fn write_all(blocks: &[Block], plain: &[u8], tail: u8) -> Vec<u8> {
    let mut w = Writer::new();
    let mut at = 0usize;
    for b in blocks {
        w.block(b, &plain[at..]).expect("a parsed block writes");
        at += b.plain_len() as usize;
    }
    w.finish(tail)
}

/// Asserts the round trip and returns the plain text.
pub fn round_trip(stream: &[u8]) -> Vec<u8> {
    let (blocks, plain, end) = parse_all(stream).expect("the stream parses");
    assert_eq!(end.len, stream.len(), "the stream is all deflate");
    let again = write_all(&blocks, &plain, end.tail);
    assert!(
        again == stream,
        "written back, {} bytes differ from {}",
        again.len(),
        stream.len()
    );
    plain
}

#[test]
fn hostile_streams_are_errors() {
    // Block type 3; a stored block with a bad complement; a truncated header.
    assert_eq!(parse_all(&[0b111]).unwrap_err(), ParseError::BlockType);
    assert!(matches!(
        parse_all(&[1, 5, 0, 0, 0]).unwrap_err(),
        ParseError::StoredLength { len: 5, nlen: 0 }
    ));
    assert!(matches!(
        parse_all(&[0b101]).unwrap_err(),
        ParseError::Short(_)
    ));
    // A fixed block whose first token is a match reaching before the start.
    let mut w = trees_deflate::bits::BitWriter::new();
    w.bits(1, 1);
    w.bits(1, 2);
    w.bits(0b1000000, 7); // symbol 257, length 3: code 0000001, reversed
    w.bits(0, 5); // distance 1
    assert!(matches!(
        parse_all(&w.finish()).unwrap_err(),
        ParseError::Distance { dist: 1, have: 0 }
    ));
}

#[test]
fn a_block_over_the_limit_is_refused_before_it_is_held() {
    let plain = vec![b'a'; 100_000];
    let z = super::streams::deflate_rs(&plain, 9);
    let mut p = Parser::new(&z);
    let mut out = Vec::new();
    assert_eq!(
        p.next_block(&mut out, 1000).unwrap_err(),
        ParseError::TooLong(1000)
    );
    assert!(out.len() <= 1000 + 258);
}
