//! Writing the laid-out pages into a PDF with krilla.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use super::measure::Faces;
use super::*;

fn fill(ink: Ink) -> Fill {
    let colour = match ink {
        Ink::Black => rgb::Color::black(),
        Ink::Grey => rgb::Color::new(96, 96, 96),
    };
    Fill {
        paint: colour.into(),
        ..Fill::default()
    }
}

pub(super) fn write_pdf(
    document: &PrintableDocument,
    faces: &Faces,
    pages: &[Vec<Op>],
) -> Result<Vec<u8>, PdfError> {
    let mut pdf = Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(format!("{} {}", document.title, document.number))
            .authors(vec![document.seller.name.clone()])
            .creator("wacrm".to_owned()),
    );
    for ops in pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(PdfError::Geometry)?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, faces, op)?;
        }
        if let Some(stamp) = &document.stamp {
            draw_stamp(&mut surface, faces, stamp)?;
        }
        surface.finish();
        page.finish();
    }
    Ok(pdf.finish()?)
}

fn draw(surface: &mut Surface, faces: &Faces, op: &Op) -> Result<(), PdfError> {
    match op {
        Op::Text {
            x,
            y,
            size,
            weight,
            ink,
            text,
        } => {
            surface.set_fill(Some(fill(*ink)));
            surface.draw_text(
                Point::from_xy(*x, *y),
                faces.face(*weight).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rule {
            x1,
            x2,
            y,
            width,
            ink,
        } => {
            let mut builder = PathBuilder::new();
            builder.move_to(*x1, *y);
            builder.line_to(*x2, *y);
            let path = builder.finish().ok_or(PdfError::Geometry)?;
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                paint: fill(*ink).paint,
                width: *width,
                ..Stroke::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
    }
    Ok(())
}

/// The stamp in translucent red, diagonally across the middle of the page,
/// over the content so that it cannot be hidden by it.
fn draw_stamp(surface: &mut Surface, faces: &Faces, stamp: &str) -> Result<(), PdfError> {
    let text = stamp.trim();
    if text.is_empty() {
        return Ok(());
    }
    let natural_width = faces.width(Weight::Bold, text, 100.0);
    // 100 pt letters, smaller if the word would not fit across the page.
    let size = if natural_width > 420.0 {
        100.0 * 420.0 / natural_width
    } else {
        100.0
    };
    let width = natural_width * size / 100.0;
    let (centre_x, centre_y) = (PAGE_WIDTH / 2.0, PAGE_HEIGHT / 2.0);
    let opacity = NormalizedF32::new(0.25).ok_or(PdfError::Geometry)?;
    surface.push_transform(&Transform::from_rotate_at(-35.0, centre_x, centre_y));
    surface.set_fill(Some(Fill {
        paint: rgb::Color::new(200, 0, 0).into(),
        opacity,
        ..Fill::default()
    }));
    surface.draw_text(
        Point::from_xy(centre_x - width / 2.0, centre_y + size * 0.36),
        faces.face(Weight::Bold).font.clone(),
        size,
        text,
        false,
        TextDirection::Auto,
    );
    surface.pop();
    Ok(())
}
