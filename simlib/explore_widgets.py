"""The exploration panel (探索面板): the levers on sliders, a Run button and the figure.

Issue 7, part 1 (DESIGN §7 "one [notebook] explores the model interactively"):
:class:`Explorer` puts the levers of :mod:`simlib.levers` on sliders (ipywidgets) with a Run
button; a run is a quick projection (:func:`simlib.explore.project`) of the scenario with the
levers set, drawn against the scenario unchanged (:func:`simlib.explore.figure`).  ipywidgets,
matplotlib and IPython are imported when used.
"""

from __future__ import annotations

import math
import time
from typing import Any

from simlib.errors import UserError
from simlib.explore import Projection, figure, project
from simlib.levers import LEVERS, Lever, Levers, apply_levers, beds_year, methods, verification_year
from simlib.parameters import ParameterError
from simlib.runs import DEFAULT_SEED
from simlib.scenario import LoadedScenario


class Explorer:
    """Sliders and a dropdown for the levers, a Run and a Reset button, and the figure.

    ``Explorer(loaded).view()`` is what the notebook displays; :meth:`run` re-runs the
    reduced-scale model with the levers as set and redraws (also callable from code).
    The reference is the scenario unchanged, projected once at the same scale and seed.
    """

    def __init__(
        self,
        loaded: LoadedScenario,
        scale: float = 0.05,
        replicates: int = 1,
        seed: int = DEFAULT_SEED,
        end_year: int | None = None,
        reference: Projection | None = None,
    ) -> None:
        import ipywidgets as w

        self.base, self.scale, self.replicates, self.seed = loaded, scale, replicates, seed
        self.end_year = end_year
        self.defaults = Levers.from_scenario(loaded)
        self.reference = reference or project(loaded, scale, replicates, seed, end_year)
        self.result: Projection | None = None
        self.runs = 0
        self.controls = controls(loaded, self.defaults)
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.reset_button = w.Button(description="Reset", icon="undo")
        self.status = w.HTML()
        self.output = w.Output()
        self.run_button.on_click(lambda _: self.run())
        self.reset_button.on_click(lambda _: self.reset())
        self.controls["method"].observe(lambda _: self._ratio_enabled(), names="value")
        self._ratio_enabled()

    def levers(self) -> Levers:
        """The levers as the controls are set."""
        values = {name: c.value for name, c in self.controls.items() if not c.disabled}
        values["new_beds_per_year"] = int(values["new_beds_per_year"])
        return self.defaults.replace(**values)

    def run(self) -> Projection | None:
        """Re-run with the levers as set and redraw; a refused lever is shown, not raised."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        t0 = time.perf_counter()
        self.status.value = "<i>running…</i>"
        try:
            changed = apply_levers(self.base, self.levers())
            self.result = project(changed, self.scale, self.replicates, self.seed, self.end_year)
        except (UserError, ParameterError) as e:
            self.status.value = f"<b style='color:#d62728'>refused:</b> {e}"
            return None
        fig = figure(self.result, self.reference)
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)
        self.runs += 1
        self.status.value = (
            f"run {self.runs}: re-run and redraw in {time.perf_counter() - t0:.1f} s (model "
            f"{self.result.seconds:.1f} s; scale {self.scale:g}, {self.replicates} replicate(s), "
            f"seed {self.seed})"
        )
        return self.result

    def set(self, **values: Any) -> None:
        """Set some controls (by lever name), as a researcher would move them."""
        for name, value in values.items():
            if name not in self.controls:
                raise UserError(f"no lever {name!r}: the levers are {', '.join(self.controls)}")
            self.controls[name].value = value

    def reset(self) -> None:
        """The controls back to the scenario's values."""
        for name, c in self.controls.items():
            value = getattr(self.defaults, name)
            if value is not None:
                c.value = value

    def view(self) -> Any:
        """The widgets: the levers in two columns, the buttons and status, the figure."""
        import ipywidgets as w

        c = self.controls
        left = ["method", "ratio_urban", "ratio_rural", "convergence_step", "fiscal_cap"]
        right = ["take_up_urban", "take_up_rural", "verification_end", "new_beds_per_year"]
        columns = w.HBox([w.VBox([c[n] for n in left]), w.VBox([c[n] for n in right])])
        buttons = w.HBox([self.run_button, self.reset_button, self.status])
        return w.VBox([columns, buttons, self.output])

    def _ratio_enabled(self) -> None:
        """The ratio sliders count only for the consumption-ratio method."""
        off = self.controls["method"].value != "consumption_ratio"
        for name in ("ratio_urban", "ratio_rural"):
            if self.defaults.ratio_urban is not None:
                self.controls[name].disabled = off


def controls(loaded: LoadedScenario, defaults: Levers) -> dict[str, Any]:
    """A widget per lever at the scenario's value (disabled when the scenario does not use
    it); sliders update on release."""
    import ipywidgets as w

    style = {"description_width": "250px"}
    layout = w.Layout(width="560px")
    out: dict[str, Any] = {
        "method": w.Dropdown(
            options=list(methods(loaded)),
            value=defaults.method,
            description="Method (测算方法)",
            style=style,
            layout=layout,
        )
    }
    for lever in LEVERS.values():
        value = getattr(defaults, lever.name)
        common = dict(
            min=lever.low,
            max=lever.high,
            step=lever.step,
            description=_slider_label(loaded, lever),
            continuous_update=False,
            disabled=value is None,
            style=style,
            layout=layout,
        )
        if lever.name == "new_beds_per_year":
            out[lever.name] = w.IntSlider(value=int(value), **common)
        else:
            digits = max(0, -math.floor(math.log10(lever.step)))
            out[lever.name] = w.FloatSlider(
                value=lever.low if value is None else value, readout_format=f".{digits}f", **common
            )
    return out


def _slider_label(loaded: LoadedScenario, lever: Lever) -> str:
    year = {"verification_end": verification_year, "new_beds_per_year": beds_year}.get(
        lever.name, lambda _: None
    )(loaded)
    return lever.label.format(from_year="" if year is None else f" from {year}")
