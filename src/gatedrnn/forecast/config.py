"""The forecasting run configuration: one dataclass, turned into the flags of ``gatedrnn forecast``, written as the
run's ``config.json`` (``gatedrnn forecast --config OUT/config.json --out OTHER`` re-runs it) and kept in the
checkpoint's ``meta.json``. Where the outputs go (``out``, ``figure``) is not part of it: the same config can be
run into any folder. The fields it shares with the ``Forecaster`` (the model's and the training's) are declared
once, in ``forecast.settings.ForecasterFields``: one default, one check, one help text for both."""

from __future__ import annotations

from dataclasses import dataclass, fields

from gatedrnn.config import option
from gatedrnn.data.dates import FILLS
from gatedrnn.data.series import Series, load_series
from gatedrnn.errors import UserError, check_optional_int, show
from gatedrnn.forecast.checks import check_sizes
from gatedrnn.forecast.selection import SIZES
from gatedrnn.forecast.settings import ForecasterFields, check_season

# --baselines: auto, the cheap ones, gatedrnn's ARIMA order search (one series), statsforecast's automatic methods
M4 = "m4-hourly"
# the fields an m4-hourly run does not read, at their defaults (a run given any other value would ignore it)
M4_IGNORES = {"column": None, "date_column": None, "fill": "error", "season": None, "horizon": None, "holdout": None}
BASELINES = ("auto", "naive", "snaive", "naive2", "arima", "autoarima", "autoets", "autotheta")


def baseline_names(text: str) -> list[str]:
    """``"naive, autoets"`` -> ``["naive", "autoets"]`` (comma-separated, blanks dropped)."""
    return [b.strip() for b in text.split(",") if b.strip()]


def _baselines(name, v):
    names = baseline_names(v) if isinstance(v, str) else []     # a field's check runs before its type check
    bad = [b for b in names if b not in BASELINES]
    if not names or bad:
        raise UserError(f"{name}: expected comma-separated names among {', '.join(BASELINES)}, got {show(v)}")


@dataclass
class ForecastConfig(ForecasterFields):
    """Everything that defines a forecasting run (``--name value`` on the command line): the Forecaster's fields
    (``ForecasterFields``), the data, the held-out part, the baselines and the outputs."""

    dataset: str | None = option(None, "sunspots (yearly, last 30 years held out), co2 (weekly, last 104 weeks held "
                                 "out), m4-hourly (M4's 414 hourly series: the global Forecaster and M4's measures) or a CSV file")
    column: str | None = option(None, "CSV column to forecast (needed when the file has several numeric columns)",
                                group="series")
    date_column: str | None = option(None, "CSV column of the timestamps (none = the one text column whose cells "
                                     "all parse as dates, if any; needs pandas)", group="series")
    fill: str = option("error", "gaps in a CSV (empty or NaN cells, missing timestamps): error names their lines, "
                       "interpolate fills them linearly", choices=FILLS, group="series")
    season: int | None = option(None, "season length (none: the dataset's calendar season, co2 52, a CSV none; "
                                "1 = none): the Forecaster's season input and seasonal naive base, the seasonal naive "
                                "baseline and ARIMA's seasonal difference", check=check_season, group="series")
    horizon: int | None = option(None, "steps forecast from each origin (none = the whole held-out tail from its "
                                 "start)", check=check_optional_int, group="series")
    holdout: int | None = option(None, "values held out at the end (none = sunspots 30, co2 104, CSV 20%)",
                                 check=check_optional_int, group="series")
    baselines: str = option("auto", "comma-separated baselines: naive (always run), snaive, naive2 (need a season), "
                            "arima (gatedrnn's order search, needs statsmodels), autoarima, autoets, autotheta "
                            "(statsforecast: pip install 'gatedrnn[baselines]'); auto = naive, snaive, arima and, when "
                            "statsforecast is installed, its three (m4-hourly: naive, snaive, naive2)",
                            check=_baselines, group="output")
    arima: bool = option(True, "fit the ARIMA baseline of gatedrnn's order search (needs statsmodels; --no-arima "
                         "skips it, whatever --baselines says)", group="output")
    plot: bool = option(True, "write the forecast figure (needs matplotlib)", group="output")

    def validate(self) -> "ForecastConfig":
        if self.dataset is None:
            raise UserError("dataset: expected sunspots, co2 or a CSV file (--dataset, or in the --config file), got none")
        if not isinstance(self.dataset, str):
            raise UserError(f"dataset: expected sunspots, co2 or a CSV path, got {show(self.dataset)}")
        super().validate()
        if self.horizon is not None and self.holdout is not None and self.horizon > self.holdout:
            raise UserError(f"horizon: expected at most the held-out length {self.holdout}, got {self.horizon}")
        if self.dataset == M4:
            ignored = {k: getattr(self, k) for k, v in M4_IGNORES.items() if getattr(self, k) != v}
            if ignored:
                raise UserError(f"{', '.join(ignored)}: expected none with --dataset {M4} (its 414 series, their 48-hour "
                                f"test horizon and season 24 are fixed), got {ignored}")
        check_sizes(self.hidden_size or max(SIZES), self.num_layers, self.batch_size,
                    (self.window or 168) + (self.horizon or 48), 4, 5 * (self.horizon or 48), self.n_models)
        return self

    def check_command(self, predict=None, figure=None) -> None:
        """The command-line flags outside the config that this run would ignore, refused in one line:
        ``--predict`` and ``--figure`` with m4-hourly; ``--horizon``, ``--holdout`` and ``--figure`` with
        ``--predict`` (it trains on the whole series and writes future.png)."""
        if self.dataset == M4 and (predict is not None or figure is not None):
            flag = "--predict" if predict is not None else "--figure"
            raise UserError(f"{flag}: expected none with --dataset {M4} (it forecasts M4's 48 test hours and writes no "
                            f"figure), got {predict if predict is not None else figure}")
        if predict is not None:
            given = {k: getattr(self, k) for k in ("horizon", "holdout") if getattr(self, k) is not None}
            if figure is not None:
                given["figure"] = figure
            if given:
                raise UserError(f"{', '.join(given)}: expected none with --predict {predict} (it trains on the whole "
                                f"series, forecasts {predict} steps and writes OUT/future.png), got {given}")

    @classmethod
    def from_dict(cls, d: dict):
        """As ``Config.from_dict``; a ``period`` (gatedrnn 0.1's name, in older runs' config.json) is read as
        ``season``."""
        if isinstance(d, dict) and "period" in d and "season" not in d:
            d = {("season" if k == "period" else k): v for k, v in d.items()}
        return super().from_dict(d)

    def load_series(self) -> Series:
        """The series of this run: ``dataset`` read with ``column``, ``season``, ``fill`` and ``date_column``."""
        if self.dataset is None:
            raise UserError("dataset: expected sunspots, co2 or a CSV file (--dataset, or in the --config file), got none")
        season = None if self.season == 1 else self.season          # 1: no season
        return load_series(self.dataset, self.column, period=season, fill=self.fill, date_column=self.date_column)

    def season_of(self, series: Series) -> int | None:
        """The Forecaster's season on ``series``: the config's (1 = none), else the series' calendar season (co2 52;
        sunspots' 11-year cycle is not a calendar season: none)."""
        if self.season is not None:
            return None if self.season == 1 else self.season
        return series.period if series.seasonal and series.period and series.period > 1 else None

    def forecaster_settings(self, horizon: int | None = None, season: int | None = None) -> dict:
        """The ``Forecaster``'s arguments from this config (``Forecaster.from_config``): the fields they share
        (``ForecasterFields``) as they are, ``horizon`` (default the config's) and ``season`` (default the config's; 1 = none); window,
        hidden_size and max_steps left at None are chosen from the data within ``time_limit``. An explicit window
        is raised to the seasons that the seasonal naive base of ``horizon`` steps reads."""
        h = horizon if horizon is not None else self.horizon or 1
        s = season if season is not None else self.season
        s = s if s and s > 1 else None
        need = s * -(-(1 if self.strategy == "recursive" else h) // s) if s else 1
        shared = {f.name: getattr(self, f.name) for f in fields(ForecasterFields)}
        return {**shared, "horizon": h, "season": s, "window": None if self.window is None else max(self.window, need)}

    def baseline_list(self) -> list[str]:
        """The names in ``baselines`` (``auto`` is resolved by the run: ``experiment.selection``, or m4's default)."""
        return baseline_names(self.baselines)

    def chosen(self, f) -> "ForecastConfig":
        """This config with the settings the fitted Forecaster ``f`` chose (what a run's config.json records: it
        re-runs without the search, bit for bit)."""
        return self.replace(model=f.model, window=f.window, hidden_size=f.hidden_size, max_steps=f.max_steps,
                            strategy=getattr(f, "strategy", None))


def make_config(config_file=None, flags: dict | None = None) -> ForecastConfig:
    """The config of a run: the fields of ``config_file`` (JSON or TOML, e.g. a run's ``config.json``), then
    ``flags`` (the fields given on the command line) over them, validated."""
    return ForecastConfig.from_sources(config_file, flags)
