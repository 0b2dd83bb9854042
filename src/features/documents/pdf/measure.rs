//! Measuring text: the fonts, glyph widths and line wrapping.

use krilla::text::Font;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use super::{PdfError, Weight};

/// A font both for krilla (drawing) and skrifa (measuring).
pub(super) struct Face {
    pub(super) font: Font,
    charmap: Charmap<'static>,
    advances: GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Face {
    fn load(data: &'static [u8], name: &'static str) -> Result<Self, PdfError> {
        let font = Font::new(data.into(), 0).ok_or(PdfError::Font(name))?;
        let font_ref = FontRef::new(data).map_err(|_| PdfError::Font(name))?;
        let units_per_em = font_ref
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        if units_per_em == 0 {
            return Err(PdfError::Font(name));
        }
        Ok(Self {
            font,
            charmap: font_ref.charmap(),
            advances: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(units_per_em),
        })
    }

    /// The advance width of `text` at `size` points. Kerning, which krilla
    /// applies when shaping, is left out: it moves a line by well under a
    /// point, and DejaVu's digits, the right-aligned text, are not kerned.
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text
            .chars()
            .map(|c| {
                let glyph = self.charmap.map(c).unwrap_or_default();
                self.advances.advance_width(glyph).unwrap_or(0.0)
            })
            .sum();
        units * size / self.units_per_em
    }
}

pub(super) struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    pub(super) fn load() -> Result<Self, PdfError> {
        Ok(Self {
            regular: Face::load(dejavu::sans::regular(), "DejaVu Sans")?,
            bold: Face::load(dejavu::sans::bold(), "DejaVu Sans Bold")?,
        })
    }

    pub(super) fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    pub(super) fn width(&self, weight: Weight, text: &str, size: f32) -> f32 {
        self.face(weight).width(text, size)
    }

    /// `text` broken into lines no wider than `width`: at spaces where it
    /// can, inside a word too long for a line, and at its own line breaks.
    pub(super) fn wrap(&self, weight: Weight, text: &str, size: f32, width: f32) -> Vec<String> {
        let face = self.face(weight);
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if face.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the column is cut where it reaches the edge.
                for c in word.chars() {
                    line.push(c);
                    if face.width(&line, size) > width && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::replace(&mut line, c.to_string()));
                    }
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }
}
