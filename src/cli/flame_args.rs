//! The flags of `inferno-flamegraph` 0.12.8 (its `src/bin/flamegraph.rs`),
//! with the same long names, defaults and conflicts, mapped onto
//! `inferno::flamegraph::Options` as that command maps them; plus
//! cargo-flamegraph's spellings as aliases (`--palette`, `--min-width`,
//! `--image-width`).
//!
//! Short flags of inferno that perf gives another meaning are left out:
//! `-i` (perf's `--input`; use `--inverted`), `-c` (perf script's
//! `--comms`; use `--colors`), `-v` and `-q` (perfold's `--verbose`;
//! inferno's logging levels have nothing to log here).

use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser;
use clap::Args;
use inferno::flamegraph::color::{
    parse_hex_color, BackgroundColor, Color, PaletteMap, SearchColor, StrokeColor,
};
use inferno::flamegraph::{
    defaults, Direction, FuncFrameAttrsMap, Options, Palette, TextTruncateDirection,
};

/// The file `--cp` reads and updates, in the current directory (as inferno).
pub const PALETTE_MAP_FILE: &str = "palette.map";

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Flame graph (inferno-flamegraph's flags)")]
pub struct FlameArgs {
    /// Use a consistent palette: colours stored in ./palette.map, read and updated
    #[arg(long = "cp")]
    pub cp: bool,

    /// Colors are selected by hashing the function name, weighting earlier characters more
    /// heavily
    #[arg(long = "hash", conflicts_with = "deterministic")]
    pub hash: bool,

    /// Colors are selected such that the color of a function does not change between runs
    #[arg(long = "deterministic", conflicts_with = "hash")]
    pub deterministic: bool,

    /// Plot the flame graph up-side-down (inferno's -i is perf's --input here)
    #[arg(long = "inverted")]
    pub inverted: bool,

    /// If text doesn't fit in frame, truncate right side
    #[arg(long = "truncate-text-right")]
    pub truncate_text_right: bool,

    /// Switch differential hues (green<->red)
    #[arg(long = "negate")]
    pub negate: bool,

    /// Don't include static JavaScript in the flame graph (inferno's test flag)
    #[arg(long = "no-javascript", hide = true)]
    pub no_javascript: bool,

    /// Don't sort the input lines (perfold's folded lines are always sorted)
    #[arg(long = "no-sort")]
    pub no_sort: bool,

    /// Pretty print XML with newlines and indentation
    #[arg(long = "pretty-xml")]
    pub pretty_xml: bool,

    /// Generate stack-reversed flame graph
    #[arg(long = "reverse", conflicts_with = "no_sort")]
    pub reverse: bool,

    /// Set background colors. Gradient choices are yellow (default), blue, green, grey; flat
    /// colors use "#rrggbb"
    #[arg(long = "bgcolors", value_name = "STRING")]
    pub bgcolors: Option<BackgroundColor>,

    /// Set color palette (cargo-flamegraph: --palette)
    #[arg(
        long = "colors",
        visible_alias = "palette",
        default_value = defaults::COLORS,
        value_parser = clap::builder::PossibleValuesParser::new(Palette::VARIANTS)
            .map(|s| s.parse::<Palette>().expect("a listed palette")),
        value_name = "STRING"
    )]
    pub colors: Palette,

    /// Color frames based on their width, highlighting expensive codepaths
    #[arg(long = "colordiffusion", conflicts_with = "colors")]
    pub color_diffusion: bool,

    /// Count type label
    #[arg(long = "countname", default_value = defaults::COUNT_NAME, value_name = "STRING")]
    pub countname: String,

    /// Factor to scale sample counts by
    #[arg(long = "factor", default_value = "1", value_name = "FLOAT")]
    pub factor: f64,

    /// Font size
    #[arg(long = "fontsize", default_value = "12", value_name = "UINT")]
    pub fontsize: usize,

    /// Font type
    #[arg(long = "fonttype", default_value = defaults::FONT_TYPE, value_name = "STRING")]
    pub fonttype: String,

    /// Font width
    #[arg(long = "fontwidth", default_value = "0.59", value_name = "FLOAT")]
    pub fontwidth: f64,

    /// Color of UI text such as the search and reset zoom buttons
    #[arg(
        long = "uicolor",
        default_value = defaults::UI_COLOR,
        value_parser = parse_ui_color,
        value_name = "#RRGGBB"
    )]
    pub uicolor: Color,

    /// Height of each frame
    #[arg(long = "height", default_value = "16", value_name = "UINT")]
    pub height: usize,

    // The help text is an attribute, not a doc comment: rustdoc would read `<FLOAT>` as HTML.
    #[arg(
        help = "Omit functions smaller than <FLOAT> pixels (cargo-flamegraph: --min-width)",
        long = "minwidth",
        visible_alias = "min-width",
        default_value = "0.01",
        value_name = "FLOAT"
    )]
    pub minwidth: f64,

    /// File of attributes for the SVG frames of particular functions: per line, a function
    /// name, a tab, then tab-separated name=value pairs
    #[arg(long = "nameattr", value_name = "PATH")]
    pub nameattr: Option<PathBuf>,

    /// Name type label
    #[arg(long = "nametype", default_value = defaults::NAME_TYPE, value_name = "STRING")]
    pub nametype: String,

    /// Set embedded notes in SVG
    #[arg(long = "notes", value_name = "STRING")]
    pub notes: Option<String>,

    /// Search color
    #[arg(long = "search-color", default_value = defaults::SEARCH_COLOR, value_name = "STRING")]
    pub search_color: SearchColor,

    /// Adds an outline to every frame
    #[arg(long = "stroke-color", default_value = defaults::STROKE_COLOR, value_name = "STRING")]
    pub stroke_color: StrokeColor,

    /// Second level title (optional)
    #[arg(long = "subtitle", value_name = "STRING")]
    pub subtitle: Option<String>,

    /// Change title text
    #[arg(long = "title", default_value = defaults::TITLE, value_name = "STRING")]
    pub title: String,

    /// Width of image (cargo-flamegraph: --image-width)
    #[arg(long = "width", visible_alias = "image-width", value_name = "UINT")]
    pub width: Option<usize>,

    /// Omit samples whose stacks do not contain this symbol; truncate the others so that it is
    /// the bottom-most frame (may be repeated)
    #[arg(long = "base", value_name = "STRING")]
    pub base: Vec<String>,

    /// Produce a flame chart (sort by time, do not merge stacks)
    #[arg(long = "flamechart", conflicts_with_all = ["no_sort", "reverse"])]
    pub flame_chart: bool,
}

fn parse_ui_color(s: &str) -> Result<Color, String> {
    parse_hex_color(s).ok_or_else(|| format!("Expected a color in hexadecimal format, got: {s}"))
}

impl FlameArgs {
    /// inferno's `Opt::into_parts`: the options inferno-flamegraph draws with.
    /// `palette_map` is the map `--cp` loaded (see [`load_palette_map`]).
    pub fn to_options<'a>(
        &self,
        palette_map: Option<&'a mut PaletteMap>,
    ) -> Result<Options<'a>, String> {
        let mut options = Options::default();
        options.title = self.title.clone();
        options.colors = self.colors;
        options.bgcolors = self.bgcolors;
        options.hash = self.hash;
        options.deterministic = self.deterministic;
        if let Some(file) = &self.nameattr {
            options.func_frameattrs = FuncFrameAttrsMap::from_file(file)
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
        if self.inverted {
            options.direction = Direction::Inverted;
            if self.title == defaults::TITLE {
                options.title = "Icicle Graph".to_string();
            }
        }
        if self.truncate_text_right {
            options.text_truncate_direction = TextTruncateDirection::Right;
        }
        options.negate_differentials = self.negate;
        options.factor = self.factor;
        options.pretty_xml = self.pretty_xml;
        options.no_sort = self.no_sort;
        options.no_javascript = self.no_javascript;
        options.color_diffusion = self.color_diffusion;
        options.reverse_stack_order = self.reverse;
        options.flame_chart = self.flame_chart;
        options.base = self.base.clone();
        if self.flame_chart && self.title == defaults::TITLE {
            options.title = defaults::CHART_TITLE.to_owned();
        }
        options.subtitle = self.subtitle.clone();
        options.image_width = self.width;
        options.frame_height = self.height;
        options.min_width = self.minwidth;
        options.font_type = self.fonttype.clone();
        options.font_size = self.fontsize;
        options.font_width = self.fontwidth;
        options.count_name = self.countname.clone();
        options.name_type = self.nametype.clone();
        if let Some(notes) = &self.notes {
            options.notes = notes.clone();
        }
        options.search_color = self.search_color;
        options.stroke_color = self.stroke_color;
        options.uicolor = self.uicolor;
        options.palette_map = palette_map;
        Ok(options)
    }
}

/// With `--cp`, the palette map of ./palette.map (empty if there is none).
pub fn load_palette_map(args: &FlameArgs) -> std::io::Result<Option<PaletteMap>> {
    if !args.cp {
        return Ok(None);
    }
    PaletteMap::load_from_file_or_empty(&Path::new(PALETTE_MAP_FILE)).map(Some)
}

/// With `--cp`, writes the updated palette map back to ./palette.map.
pub fn save_palette_map(map: &Option<PaletteMap>) -> std::io::Result<()> {
    match map {
        Some(map) => map.save_to_file(&Path::new(PALETTE_MAP_FILE)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Test {
        #[command(flatten)]
        flame: FlameArgs,
    }

    #[test]
    fn defaults_are_inferno_defaults() {
        let t = Test::try_parse_from(["t"]).unwrap();
        assert_eq!(t.flame.to_options(None).unwrap(), Options::default());
    }

    #[test]
    fn cargo_flamegraph_spellings_are_aliases() {
        let t = Test::try_parse_from([
            "t",
            "--palette",
            "rust",
            "--min-width",
            "0.5",
            "--image-width",
            "800",
        ])
        .unwrap();
        let o = t.flame.to_options(None).unwrap();
        assert_eq!(o.colors, "rust".parse::<Palette>().unwrap());
        assert_eq!(o.min_width, 0.5);
        assert_eq!(o.image_width, Some(800));
    }

    #[test]
    fn inverted_and_flamechart_titles_as_inferno() {
        let t = Test::try_parse_from(["t", "--inverted"]).unwrap();
        assert_eq!(t.flame.to_options(None).unwrap().title, "Icicle Graph");
        let t = Test::try_parse_from(["t", "--flamechart"]).unwrap();
        assert_eq!(t.flame.to_options(None).unwrap().title, "Flame Chart");
        assert!(Test::try_parse_from(["t", "--flamechart", "--reverse"]).is_err());
        assert!(Test::try_parse_from(["t", "--hash", "--deterministic"]).is_err());
    }
}
