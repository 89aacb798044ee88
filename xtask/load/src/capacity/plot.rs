//! `load capacity --plot FILE.svg`: two charts side by side, server CPU per
//! player-second and KiB per player-minute against players (log scale), one line per
//! way of following the world. Steps that held are filled dots, steps that failed hollow.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::capacity::report::ModeResult;
use crate::capacity::step::Verdict;

/// One mode's measured steps, by players.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The mode's flag value.
    pub name: &'static str,
    /// `(players, server CPU µs per player-second, KiB per player-minute, held)`.
    pub points: Vec<(f64, f64, f64, bool)>,
}

/// The series to draw: every step that ran to its end, ascending by players (a count
/// measured twice keeps its last measurement).
pub fn series(results: &[ModeResult]) -> Vec<Series> {
    results
        .iter()
        .map(|result| {
            let mut points: Vec<(f64, f64, f64, bool)> = Vec::new();
            let mut steps: Vec<_> = result
                .steps
                .iter()
                .filter(|s| !matches!(s.verdict, Verdict::Broken(_)))
                .collect();
            steps.sort_by_key(|s| s.players);
            for step in steps {
                let point = (
                    step.players as f64,
                    step.cpu_us_per_player_s,
                    step.kib_per_player_minute,
                    step.verdict.held(),
                );
                match points.last_mut() {
                    Some(last) if last.0 == point.0 => *last = point,
                    _ => points.push(point),
                }
            }
            Series {
                name: result.follow.as_str(),
                points,
            }
        })
        .collect()
}

const COLOURS: [RGBColor; 4] = [RED, BLUE, GREEN, MAGENTA];

/// Draws the two charts of `results` into the SVG file at `path`.
pub fn draw(path: &Path, results: &[ModeResult]) -> anyhow::Result<()> {
    let series = series(results);
    let plotting = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let root = SVGBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plotting(&e))?;
    let (left, right) = root.split_horizontally(600);
    chart(&left, "server CPU per player-second", "µs", &series, |p| {
        p.1
    })
    .map_err(|e| plotting(&e))?;
    chart(
        &right,
        "world bytes per player-minute",
        "KiB",
        &series,
        |p| p.2,
    )
    .map_err(|e| plotting(&e))?;
    root.present().map_err(|e| plotting(&e))?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type PlotError = DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>;

/// The player counts measured, as the x axis' ticks (a log axis over a short range
/// would have none of its own).
fn ticks(series: &[Series]) -> Vec<f64> {
    let mut counts: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    counts.sort_by(f64::total_cmp);
    counts.dedup();
    counts
}

/// One chart: `value` of each point against players.
fn chart(
    area: &Area<'_>,
    caption: &str,
    unit: &str,
    series: &[Series],
    value: impl Fn(&(f64, f64, f64, bool)) -> f64,
) -> Result<(), PlotError> {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let min_players = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let max_players = all().map(|p| p.0).fold(1.0, f64::max);
    let min_players = if min_players.is_finite() {
        min_players
    } else {
        1.0
    };
    let top = all().map(&value).fold(0.0, f64::max).max(1.0) * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            ((min_players * 0.8).max(1.0)..max_players * 1.25)
                .log_scale()
                .with_key_points(ticks(series)),
            0.0..top,
        )?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|players| format!("{players:.0}"))
        .x_desc("players (log scale)")
        .y_desc(unit)
        .draw()?;
    for (index, one) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let points: Vec<(f64, f64)> = one.points.iter().map(|p| (p.0, value(p))).collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(one.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart.draw_series(one.points.iter().map(|p| {
            let style = if p.3 {
                colour.filled()
            } else {
                colour.stroke_width(1)
            };
            Circle::new((p.0, value(p)), 4, style)
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::step::StepRecord;
    use crate::sync::Follow;

    fn step(players: usize, cpu: f64, verdict: Verdict) -> StepRecord {
        let mut step = StepRecord::broken(Follow::Stream, players, 1_000.0, String::new());
        step.cpu_us_per_player_s = cpu;
        step.kib_per_player_minute = cpu / 2.0;
        step.verdict = verdict;
        step
    }

    fn stream() -> ModeResult {
        ModeResult {
            follow: Follow::Stream,
            steps: vec![
                step(800, 30.0, Verdict::Held),
                step(200, 20.0, Verdict::Held),
                step(1_600, 90.0, Verdict::NotServer("busy".into())),
                step(1_600, 40.0, Verdict::Slow(150.0)),
                step(3_200, 0.0, Verdict::Broken("gone".into())),
            ],
            held: Some(800),
            at_ceiling: false,
        }
    }

    #[test]
    fn series_keep_finished_steps_by_players_and_the_last_of_a_repeat() {
        assert_eq!(
            series(&[stream()]),
            [Series {
                name: "stream",
                points: vec![
                    (200.0, 20.0, 10.0, true),
                    (800.0, 30.0, 15.0, true),
                    (1_600.0, 40.0, 20.0, false),
                ],
            }]
        );
    }

    #[test]
    fn draws_an_svg_naming_every_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("capacity.svg");
        let mut full = stream();
        full.follow = Follow::Full;
        draw(&path, &[full, stream()]).expect("draws");
        let svg = std::fs::read_to_string(&path).expect("written");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        // The SVG backend writes each text on a line of its own.
        for text in [
            "full",
            "stream",
            "server CPU per player-second",
            "world bytes per player-minute",
        ] {
            assert!(
                svg.lines().any(|line| line.trim() == text),
                "no {text} in the plot"
            );
        }
    }
}
