//! A cursor over untrusted bytes: LEB128 numbers and slices, each failure
//! naming the field it was reading. Never allocates.

use super::GuardError;

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub(super) fn byte(&mut self, what: &'static str) -> Result<u8, GuardError> {
        let (&first, rest) = self
            .bytes
            .split_first()
            .ok_or(GuardError::Truncated(what))?;
        self.bytes = rest;
        Ok(first)
    }

    /// `n` bytes, or an error if fewer remain (checked before any use of `n`).
    pub(super) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], GuardError> {
        if n > self.bytes.len() as u64 {
            return Err(GuardError::Truncated(what));
        }
        let (first, rest) = self.bytes.split_at(n as usize);
        self.bytes = rest;
        Ok(first)
    }

    /// An unsigned LEB128 number as Automerge reads it (at most 64 bits).
    pub(super) fn uleb(&mut self, what: &'static str) -> Result<u64, GuardError> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.byte(what)?;
            if shift == 63 && byte > 1 {
                return Err(GuardError::BadNumber(what));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(GuardError::BadNumber(what));
            }
        }
    }

    /// An unsigned LEB128 number that must fit 32 bits (Automerge's `leb128_u32`).
    pub(super) fn uleb32(&mut self, what: &'static str) -> Result<u32, GuardError> {
        u32::try_from(self.uleb(what)?).map_err(|_| GuardError::BadNumber(what))
    }

    /// A signed LEB128 number (at most 64 bits).
    pub(super) fn sleb(&mut self, what: &'static str) -> Result<i64, GuardError> {
        let mut value: i64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.byte(what)?;
            if shift == 63 && byte != 0 && byte != 0x7f {
                return Err(GuardError::BadNumber(what));
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
            if shift > 63 {
                return Err(GuardError::BadNumber(what));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_automerge_writes_them() {
        let mut r = Reader::new(&[0x01, 0x81, 0x01, 0x7f, 0x80, 0x7f]);
        assert_eq!(r.uleb("a").unwrap(), 1);
        assert_eq!(r.uleb("b").unwrap(), 129);
        assert_eq!(r.sleb("c").unwrap(), -1);
        assert_eq!(r.sleb("d").unwrap(), -128);
        assert!(r.is_empty());
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).uleb("e").unwrap(), u64::MAX);
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(
            Reader::new(&too_big).uleb("f"),
            Err(GuardError::BadNumber("f"))
        ));
        let endless = [0xff; 11];
        assert!(Reader::new(&endless).uleb("g").is_err());
        assert!(Reader::new(&endless).sleb("h").is_err());
        assert!(matches!(
            Reader::new(&[0x80]).uleb("i"),
            Err(GuardError::Truncated("i"))
        ));
        assert!(matches!(
            Reader::new(&[1, 2]).take(3, "j"),
            Err(GuardError::Truncated("j"))
        ));
        assert!(
            Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10])
                .uleb32("k")
                .is_err()
        );
    }
}
