//! Line charts drawn on the server as SVG with plotters' SVG backend: no JavaScript, no image
//! files. Each chart is an `<svg role="img">` with an `aria-label` and a `<title>` saying what
//! it shows; pages put the numbers in a table beside it for screen readers and copying.

use serde::{Deserialize, Serialize};

/// One line: its name in the legend, its colour and one value per x position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    pub color: (u8, u8, u8),
    pub values: Vec<f64>,
}

/// A chart ready for the page: the SVG markup and the same numbers as a table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    pub title: String,
    pub svg: String,
    /// Column headings: the x label, then each series.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Colours of the usage charts' lines (readable on white, distinct for colour-blind readers).
pub const SUCCESS: (u8, u8, u8) = (0, 114, 178);
pub const CLIENT_ERROR: (u8, u8, u8) = (230, 159, 0);
pub const SERVER_ERROR: (u8, u8, u8) = (213, 94, 0);
pub const THROTTLED: (u8, u8, u8) = (204, 121, 167);
pub const MEDIAN: (u8, u8, u8) = (0, 158, 115);

#[cfg(feature = "ssr")]
pub use render::line_chart;

#[cfg(feature = "ssr")]
mod render {
    use super::{ChartData, Series};
    use plotters::prelude::*;
    use portico_docsite::highlight::escape;

    const WIDTH: u32 = 720;
    const HEIGHT: u32 = 260;

    /// Draws `series` over the x positions named by `x_labels` (every few labelled), with the
    /// y axis from 0 named `y_label`. `summary` is the accessible description.
    pub fn line_chart(
        title: &str,
        summary: &str,
        x_labels: &[String],
        y_label: &str,
        series: &[Series],
    ) -> Result<ChartData, String> {
        let points = i32::try_from(x_labels.len()).map_err(|e| e.to_string())?;
        let top = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0_f64, f64::max);
        // Whole numbers on the axis, and room above the highest point.
        let top = if top <= 0.0 { 1.0 } else { (top * 1.15).ceil() };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(56)
                .build_cartesian_2d(0..points.max(1) - 1, 0.0..top)
                .map_err(|e| e.to_string())?;
            let label_of = |i: &i32| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| x_labels.get(i))
                    .cloned()
                    .unwrap_or_default()
            };
            chart
                .configure_mesh()
                .x_labels(8)
                .y_labels(6)
                .x_label_formatter(&label_of)
                .y_label_formatter(&|v| format!("{v:.0}"))
                .y_desc(y_label)
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(|e| e.to_string())?;
            for line in series {
                let color = RGBColor(line.color.0, line.color.1, line.color.2);
                chart
                    .draw_series(LineSeries::new(
                        (0..).zip(line.values.iter().copied()),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?
                    .label(line.label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .draw()
                .map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        // Accessible: the image's name and description go on the <svg> itself.
        let accessible = svg.replacen(
            "<svg ",
            &format!(
                "<svg role=\"img\" aria-label=\"{}\" class=\"chart\" ",
                escape(&format!("{title}: {summary}"))
            ),
            1,
        );
        let accessible = match accessible.find('>') {
            Some(end) => format!(
                "{}<title>{}</title>{}",
                &accessible[..=end],
                escape(title),
                &accessible[end + 1..]
            ),
            None => accessible,
        };
        let mut columns = vec![String::new()];
        columns.extend(series.iter().map(|s| s.label.clone()));
        let rows = x_labels
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let mut row = vec![x.clone()];
                row.extend(series.iter().map(|s| {
                    s.values
                        .get(i)
                        .map_or_else(String::new, |v| format!("{v:.0}"))
                }));
                row
            })
            .collect();
        Ok(ChartData {
            title: title.to_owned(),
            svg: accessible,
            columns,
            rows,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn charts_are_accessible_svg_with_the_numbers_alongside() {
            let labels: Vec<String> = (1..=5).map(|d| format!("12-0{d}")).collect();
            let chart = line_chart(
                "Calls per day",
                "2xx and 4xx calls of the last 5 days",
                &labels,
                "calls",
                &[
                    Series {
                        label: "2xx".into(),
                        color: super::super::SUCCESS,
                        values: vec![1.0, 5.0, 3.0, 0.0, 8.0],
                    },
                    Series {
                        label: "4xx <bad>".into(),
                        color: super::super::CLIENT_ERROR,
                        values: vec![0.0, 1.0, 0.0, 2.0, 0.0],
                    },
                ],
            )
            .unwrap();
            assert!(chart.svg.starts_with("<svg role=\"img\" aria-label=\"Calls per day: 2xx and 4xx calls of the last 5 days\""), "{}", &chart.svg[..200]);
            assert!(chart.svg.contains("<title>Calls per day</title>"));
            assert!(chart.svg.contains("<polyline"), "the lines are drawn");
            assert!(chart.svg.contains("12-01"), "x labels");
            assert!(
                chart.svg.contains("4xx &lt;bad&gt;"),
                "legend text is escaped"
            );
            assert_eq!(chart.columns, ["", "2xx", "4xx <bad>"]);
            assert_eq!(chart.rows[4], ["12-05", "8", "0"]);
        }
    }
}
