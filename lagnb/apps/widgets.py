"""An ipywidgets app for Lagrangian autocomplete: build a field list, write some terms, let the
model propose the rest, accept or reject each proposal, export the result.

    from lagnb.apps.widgets import AutocompleteApp
    app = AutocompleteApp()          # the shipped model, loaded on the first completion
    app                              # or display(app.widget)

Every control is an attribute (``app.add_button``, ``app.su3``, …) and every action a method
(:meth:`AutocompleteApp.add_field`, :meth:`~AutocompleteApp.complete`, …), so the app is
driven from Python in tests exactly as a click drives it in the browser.  Errors in the input
(a hypercharge that is not a number, a term that does not parse, a missing model) are shown in
the status line, never as a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from lagnb.apps.autocomplete import (
    Completion,
    Suggestion,
    complete_parsed,
    engine_terms,
    judge,
    term_latex,
    torch_threads,
)
from lagnb.errors import FieldError, LagnbError
from lagnb.physics import catalogue
from lagnb.physics.check import TermCheck, check_parsed
from lagnb.physics.engine import as_fields
from lagnb.physics.fields import Field, default_names, fields_tokens, parse_fields
from lagnb.physics.model import model_symmetry
from lagnb.physics.symmetries import Symmetry, declared_symmetry
from lagnb.physics.tokens import split_terms

DEFAULT_MODEL = "sm"
"""The named model (:mod:`lagnb.physics.catalogue`) the app starts with."""

KINDS = {
    "scalar": (0, None),
    "left-handed Weyl": ("1/2", "-1/2"),
    "right-handed Weyl": ("1/2", "1/2"),
}
SU3_OPTIONS = [("1", 1), ("3", 3), ("3̄", -3), ("6", 6), ("6̄", -6), ("8", 8)]
SU2_OPTIONS = [("1", 1), ("2", 2), ("3", 3), ("4", 4)]
STATUS_COLOURS = {
    "valid": "#1a7f37",
    "invalid": "#cf222e",
    "malformed": "#6e7781",
    "duplicate": "#bc4c00",
}


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#6e7781")
    return (
        f'<span style="background:{colour};color:white;border-radius:3px;padding:0 4px;'
        f'font-size:85%">{html.escape(status)}</span>'
    )


class SuggestionRow:
    """One suggestion: its LaTeX, check result and accept/reject buttons.  Only a valid, new
    suggestion has a live accept button (``acceptable``)."""

    def __init__(self, app: AutocompleteApp, index: int, suggestion: Suggestion) -> None:
        self.index, self.suggestion, self.decision = index, suggestion, None
        self.acceptable = suggestion.valid
        math = f"${suggestion.latex}$" if suggestion.latex else html.escape(suggestion.tokens)
        self.math = w.HTMLMath(
            f"{_badge(suggestion.status)} {math}"
            f'<div style="font-size:85%;color:#57606a">{html.escape(suggestion.reason)}</div>',
            layout=w.Layout(width="75%"),
        )
        self.math.add_class("lagnb-suggestion")
        self.accept_button = w.Button(
            description="accept",
            button_style="success",
            disabled=not self.acceptable,
            tooltip="" if self.acceptable else f"cannot be accepted: {suggestion.status}",
            layout=w.Layout(width="80px"),
        )
        self.reject_button = w.Button(description="reject", layout=w.Layout(width="80px"))
        self.accept_button.add_class("lagnb-accept")
        self.reject_button.add_class("lagnb-reject")
        self.accept_button.on_click(lambda _b: app.accept(self.index))
        self.reject_button.on_click(lambda _b: app.reject(self.index))
        self.widget = w.HBox([self.math, self.accept_button, self.reject_button])

    def set_decision(self, decision: str | None) -> None:
        self.decision = decision
        self.accept_button.disabled = decision is not None or not self.acceptable
        self.reject_button.disabled = decision is not None
        self.widget.layout.opacity = "0.45" if decision == "rejected" else "1"

    def refuse(self, reason: str) -> None:
        """No longer acceptable (e.g. the term has since been typed into the Lagrangian)."""
        self.acceptable = False
        self.accept_button.disabled = True
        self.accept_button.tooltip = f"cannot be accepted: {reason}"


class AutocompleteApp:
    """Field builder, partial-Lagrangian editor, model completion and export, as widgets.

    Args:
        model_path: the model folder (default: the shipped model); loaded on first use.
        bundle: an already loaded :class:`lagnb.ml.model.Bundle` (overrides ``model_path``).
        fields: the initial field list (default: the catalogue's Standard Model).
        max_terms: how many terms a completion proposes at most.
        constrained: grammar-constrained decoding (every suggestion parses).
        show_rejected: also list the suggestions the term checker rejects (after the others,
            without an accept button); by default they are dropped and counted.
        threads: CPU threads while decoding (one is fastest for small models; ``None`` leaves
            torch's setting alone).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        bundle: Any = None,
        fields: Sequence[Field] | str | None = None,
        max_terms: int = 5,
        constrained: bool = True,
        show_rejected: bool = False,
        threads: int | None = 1,
    ) -> None:
        self.model_path = model_path
        self.threads = threads
        self._bundle = bundle
        self.fields: list[Field] = []
        self._parsed: tuple[Field, ...] | None = None  # see _parsed_fields
        self.completion: Completion | None = None
        self.rows: list[SuggestionRow] = []
        self._checks: dict[str, TermCheck] = {}  # verdicts on partial terms, per field list
        self._build(max_terms, constrained, show_rejected)
        if fields is None:
            self.load_from_catalogue(DEFAULT_MODEL)
        else:
            self.set_fields(parse_fields(fields) if isinstance(fields, str) else fields)

    # -- layout ------------------------------------------------------------------------------
    def _build(self, max_terms: int, constrained: bool, show_rejected: bool) -> None:
        lay = w.Layout(width="auto")
        self.kind = w.Dropdown(
            options=list(KINDS), value="scalar", description="field", layout=w.Layout(width="230px")
        )
        self.su3 = w.Dropdown(
            options=SU3_OPTIONS, value=1, description="SU(3)", layout=w.Layout(width="150px")
        )
        self.su2 = w.Dropdown(
            options=SU2_OPTIONS, value=1, description="SU(2)", layout=w.Layout(width="150px")
        )
        self.hypercharge = w.Text(
            value="0", description="Y", placeholder="e.g. 1/3", layout=w.Layout(width="140px")
        )
        self.name = w.Text(
            value="", description="name", placeholder="optional", layout=w.Layout(width="170px")
        )
        # the issue-12 options: a real scalar, generations, charges under declared symmetries
        self.real = w.Checkbox(value=False, description="real", layout=w.Layout(width="110px"))
        self.generations = w.BoundedIntText(
            value=1, min=1, max=9, description="generations", layout=w.Layout(width="160px")
        )
        self.symmetries = w.Text(
            value="",
            description="symmetries",
            placeholder="e.g. Z2=Z2, BL=gauged, L=global",
            layout=w.Layout(width="330px"),
        )
        self.charges = w.Text(
            value="",
            description="charges",
            placeholder="e.g. Z2=1, BL=-1",
            layout=w.Layout(width="230px"),
        )
        self.add_button = w.Button(description="add field", icon="plus")
        self.field_list = w.Select(
            options=[], rows=6, description="fields", layout=w.Layout(width="520px")
        )
        self.remove_button = w.Button(description="remove", icon="minus")
        self.clear_button = w.Button(description="clear")
        self.catalogue = w.Dropdown(
            options=list(catalogue.CATALOGUE),
            value=DEFAULT_MODEL,
            description="catalogue",
            layout=w.Layout(width="300px"),
        )
        self.catalogue_button = w.Button(description="load fields")
        self.catalogue_description = w.HTML("")
        self.partial = w.Textarea(
            value="",
            placeholder="partial Lagrangian: BART-L tokens, one term per line",
            layout=w.Layout(width="95%", height="110px"),
        )
        self.partial_checks = w.HTMLMath("")
        self.engine_term = w.Dropdown(
            options=[], description="engine term", layout=w.Layout(width="70%")
        )
        self.engine_add_button = w.Button(description="add to partial")
        self.max_terms = w.BoundedIntText(
            value=max_terms, min=1, max=50, description="max terms", layout=w.Layout(width="170px")
        )
        self.constrained = w.Checkbox(value=constrained, description="grammar-constrained")
        self.show_rejected = w.Checkbox(value=show_rejected, description="show rejected")
        self.complete_button = w.Button(
            description="complete", button_style="primary", icon="magic"
        )
        self.accept_all_button = w.Button(description="accept all valid")
        self.status = w.HTML("")
        self.suggestion_box = w.VBox([])
        self.missing = w.HTMLMath("")
        self.lagrangian = w.HTMLMath("")
        self.export_latex_button = w.Button(description="export LaTeX")
        self.export_tokens_button = w.Button(description="export tokens")
        self.export = w.Textarea(value="", layout=w.Layout(width="95%", height="90px"))

        for name in (
            "add_button",
            "remove_button",
            "clear_button",
            "catalogue_button",
            "engine_add_button",
            "complete_button",
            "accept_all_button",
            "export_latex_button",
            "export_tokens_button",
        ):
            getattr(self, name).add_class(f"lagnb-{name.replace('_', '-')}")
        for name in (
            "kind",
            "su3",
            "su2",
            "hypercharge",
            "name",
            "real",
            "generations",
            "symmetries",
            "charges",
            "field_list",
            "catalogue",
            "catalogue_description",
            "partial",
            "partial_checks",
            "status",
            "constrained",
            "show_rejected",
            "missing",
            "lagrangian",
            "export",
        ):
            getattr(self, name).add_class(f"lagnb-{name.replace('_', '-')}")
        self.suggestion_box.add_class("lagnb-suggestions")

        self.add_button.on_click(lambda _b: self.add_field())
        self.remove_button.on_click(lambda _b: self.remove_field())
        self.clear_button.on_click(lambda _b: self.set_fields([]))
        self.catalogue_button.on_click(lambda _b: self.load_from_catalogue(self.catalogue.value))
        self.catalogue.observe(lambda _c: self._describe_named_model(), names="value")
        self.engine_add_button.on_click(lambda _b: self.add_engine_term())
        self.complete_button.on_click(lambda _b: self.complete())
        self.accept_all_button.on_click(lambda _b: self.accept_all())
        self.export_latex_button.on_click(lambda _b: self.export_latex())
        self.export_tokens_button.on_click(lambda _b: self.export_tokens())
        self.partial.observe(lambda _c: self._render_partial(), names="value")

        head = w.HTML("<b>1. Fields</b> (hypercharge convention Q = T<sub>3</sub> + Y/2)")
        self.widget = w.VBox(
            [
                head,
                w.HBox(
                    [self.kind, self.su3, self.su2, self.hypercharge, self.name, self.add_button],
                    layout=lay,
                ),
                w.HBox(
                    [self.real, self.generations, self.charges, self.symmetries],
                    layout=lay,
                ),
                w.HBox([self.field_list, w.VBox([self.remove_button, self.clear_button])]),
                w.HBox([self.catalogue, self.catalogue_button, self.catalogue_description]),
                w.HTML("<b>2. Partial Lagrangian</b> (each term is checked as you write it)"),
                self.partial,
                self.partial_checks,
                w.HBox([self.engine_term, self.engine_add_button]),
                w.HTML("<b>3. Complete with the model</b>"),
                w.HBox(
                    [
                        self.max_terms,
                        self.constrained,
                        self.show_rejected,
                        self.complete_button,
                        self.accept_all_button,
                    ]
                ),
                self.status,
                self.suggestion_box,
                self.missing,
                w.HTML("<b>4. Result</b>"),
                self.lagrangian,
                w.HBox([self.export_latex_button, self.export_tokens_button]),
                self.export,
            ]
        )
        self.widget.add_class("lagnb-autocomplete")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """Shown as the widget; its plain-text form is a short summary (stable under nbval)."""
        data = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data or {})
        data["text/plain"] = repr(self)
        return data

    def __repr__(self) -> str:
        counts = (len(self.fields), "field"), (len(self.partial_terms), "partial term")
        counts += ((len(self.rows), "suggestion"),)
        return (
            "AutocompleteApp("
            + ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
            + ")"
        )

    # -- status ------------------------------------------------------------------------------
    def _error(self, message: str) -> None:
        self.status.value = f'<span style="color:#cf222e">{html.escape(message)}</span>'

    def _info(self, message: str) -> None:
        self.status.value = html.escape(message)

    # -- fields ------------------------------------------------------------------------------
    def declared_symmetries(self) -> dict[str, Symmetry]:
        """The extra symmetries declared in the ``symmetries`` box, ``name=kind`` separated by
        commas, kind ``gauged``, ``global`` or ``Z<N>`` (raises :class:`LagnbError`)."""
        out: dict[str, Symmetry] = {}
        for item in filter(None, (x.strip() for x in self.symmetries.value.split(","))):
            name, eq, kind = (x.strip() for x in item.partition("="))
            if not eq:
                raise FieldError(f"symmetries: write name=kind, e.g. Z2=Z2, not {item!r}")
            if name in out:
                raise FieldError(f"symmetries: {name!r} is declared twice")
            out[name] = model_symmetry(name, kind, "symmetries")
        return out

    def field_from_builder(self) -> Field:
        """The field the builder controls describe (raises :class:`LagnbError`)."""
        spin, hel = KINDS[self.kind.value]
        syms = self.declared_symmetries()
        charges = {}
        for item in filter(None, (x.strip() for x in self.charges.value.split(","))):
            name, eq, q = (x.strip() for x in item.partition("="))
            if not eq:
                raise FieldError(f"charges: write symmetry=charge, e.g. Z2=1, not {item!r}")
            sym = declared_symmetry(syms, name, "charges", "declare it in the symmetries box")
            charges[sym] = q
        return Field(
            spin,
            self.su3.value,
            self.su2.value,
            self.hypercharge.value.strip() or "0",
            hel,
            self.name.value.strip() or None,
            self.real.value,
            self.generations.value,
            charges,  # type: ignore[arg-type]
        )

    def add_field(self) -> bool:
        """Add the builder's field to the list; on bad input show why and return False."""
        try:
            f = self.field_from_builder()
        except LagnbError as exc:
            self._error(str(exc))
            return False
        self.set_fields([*self.fields, f])
        self._info(f"added {f.describe()}")
        return True

    def remove_field(self) -> None:
        """Remove the field selected in the list (the last one if none is selected)."""
        if not self.fields:
            return
        k = self.field_list.index if self.field_list.index is not None else len(self.fields) - 1
        self.set_fields([f for j, f in enumerate(self.fields) if j != k])

    def load_from_catalogue(self, name: str) -> bool:
        """Replace the field list by the named model ``name`` of :mod:`lagnb.physics.catalogue`
        (and empty the partial Lagrangian); on an unknown name show why and return False."""
        try:
            model = catalogue.get(name)
        except LagnbError as exc:
            self._error(str(exc))
            return False
        self.catalogue.value = name
        self._describe_named_model()
        self.set_fields(model.fields)
        self.partial.value = ""
        self._info(f"loaded {name}: {model.description}")
        return True

    def _describe_named_model(self) -> None:
        model = catalogue.CATALOGUE.get(self.catalogue.value)
        self.catalogue_description.value = (
            f"<small>{html.escape(model.description)}</small>" if model else ""
        )

    def set_fields(self, fields: Sequence[Field]) -> None:
        """Replace the field list (suggestions and engine terms are refreshed)."""
        self.fields = list(fields)
        self._parsed = None
        self._checks = {}
        names = default_names(self.fields)
        self.field_list.options = [
            (f"{n}: {f.describe()}", k) for k, (n, f) in enumerate(zip(names, self.fields))
        ]
        self.field_list.index = None
        self._clear_suggestions()
        if self.fields:
            self.engine_term.options = [
                (f"{k + 1}. {e.kind}{' (h.c.)' if e.conjugate else ''}: {e.tokens[:90]}", k)
                for k, e in enumerate(engine_terms(self._parsed_fields))
            ]
            self.engine_term.index = 0
        else:
            self.engine_term.options = []
        self._render_partial()

    @property
    def _parsed_fields(self) -> tuple[Field, ...]:
        """:attr:`fields` parsed by :func:`~lagnb.physics.engine.as_fields`, once per field
        list: what the engine, the checker and the model are given (raises
        :class:`~lagnb.errors.FieldError` for an empty list)."""
        if self._parsed is None:
            self._parsed = as_fields(self.fields)
        return self._parsed

    @property
    def fields_tokens(self) -> str:
        return fields_tokens(self.fields)

    # -- partial Lagrangian ------------------------------------------------------------------
    @property
    def partial_terms(self) -> list[str]:
        """The terms in the editor (one per line; a line may also hold several terms)."""
        return [t for line in self.partial.value.splitlines() for t in split_terms(line)]

    def set_partial(self, terms: Sequence[str]) -> None:
        self.partial.value = "\n".join(terms)

    def add_engine_term(self, index: int | None = None) -> None:
        """Append an engine term (the one chosen in the dropdown) to the partial Lagrangian."""
        k = self.engine_term.value if index is None else index
        if k is None or not self.fields:
            return
        self.set_partial([*self.partial_terms, engine_terms(self._parsed_fields)[k].tokens])

    def check_partial(self) -> list[TermCheck]:
        """The term checker's verdict on each partial term (in the editor's order)."""
        for t in self.partial_terms:
            if t not in self._checks:
                self._checks[t] = check_parsed(self._parsed_fields, t)
        return [self._checks[t] for t in self.partial_terms]

    def _render_partial(self) -> None:
        """The verdict on every partial term under the editor, and the Lagrangian's LaTeX."""
        items = []
        if self.fields:
            names = default_names(self.fields)
            for c in self.check_partial():
                math = f"${term_latex(self.fields, c.term, names)}$" if c.term else ""
                items.append(
                    f"<li>{_badge(c.status)} {math} <small style='color:#57606a'>"
                    f"{html.escape(c.explain())}</small></li>"
                    if not c.valid
                    else f"<li>{_badge(c.status)} {math}</li>"
                )
        self.partial_checks.value = f"<ol>{''.join(items)}</ol>" if items else ""
        self._render_lagrangian()

    # -- completion --------------------------------------------------------------------------
    @property
    def bundle(self) -> Any:
        """The model, loaded on first use."""
        if self._bundle is None:
            from lagnb.ml.model import load_bundle, shipped_model_path

            self._bundle = load_bundle(self.model_path or shipped_model_path())
        return self._bundle

    def complete(self) -> Completion | None:
        """Ask the model for the missing terms; show them with their check results."""
        self._clear_suggestions()
        if not self.fields:
            self._error("add at least one field first")
            return None
        if not all(f.is_bart_l for f in self.fields):
            self._error(
                "the model knows BART-L fields only (complex, one generation, no extra "
                "charges); the engine terms below list this model's Lagrangian"
            )
            return None
        self._info("completing…")
        try:
            with torch_threads(self.threads):
                c = complete_parsed(
                    self.bundle,
                    self._parsed_fields,
                    self.partial_terms,
                    max_terms=self.max_terms.value,
                    constrained=self.constrained.value,
                    min_terms=1,
                    show_rejected=self.show_rejected.value,
                )
        except LagnbError as exc:
            self._error(str(exc))
            return None
        self.show(c)
        return c

    def show(self, c: Completion) -> None:
        """Show a completion (from :func:`~lagnb.apps.autocomplete.complete` or
        :func:`~lagnb.apps.autocomplete.assess`): its partial terms go into the editor, each
        suggestion into a row, the verdicts into the status line."""
        self._clear_suggestions()
        self.set_partial(list(c.partial))
        self.completion = c
        self.rows = [SuggestionRow(self, k, s) for k, s in enumerate(c.suggestions)]
        self.suggestion_box.children = [r.widget for r in self.rows]
        bad = len(c.invalid_partial)
        k = len(c.suggestions)
        self._info(
            f"{k} suggestion{'' if k == 1 else 's'}, {len(c.new_valid)} valid and new"
            f"{' (cut at the length limit)' if c.truncated else ''}"
            + (
                f", the last {len(c.added)} from the model's best first terms (terms that come "
                "before yours)"
                if c.added
                else ""
            )
            + (
                f"; {len(c.dropped)} invalid suggestion{'' if len(c.dropped) == 1 else 's'} "
                "dropped (tick 'show rejected' to see them)"
                if c.dropped
                else ""
            )
            + (
                f"; {bad} of your partial terms {'is' if bad == 1 else 'are'} rejected by the "
                "term checker (see above)"
                if bad
                else ""
            )
            + f"; the engine has {len(c.missing_before)} terms missing from the partial "
            f"Lagrangian, {len(c.missing_after)} after the valid suggestions. ({c.seconds:.2f} s)"
        )
        self._render_missing()

    def accept(self, index: int) -> bool:
        """Accept suggestion ``index``: its term joins the partial Lagrangian.

        Refused (False, the reason in the status line) unless the suggestion is valid and new —
        also new with respect to the partial Lagrangian as it is now, which the user may have
        edited since the completion.
        """
        if not 0 <= index < len(self.rows):
            self._error(f"there is no suggestion {index + 1}")
            return False
        row = self.rows[index]
        if row.decision is not None:
            return False
        s: Suggestion = row.suggestion
        if row.acceptable:
            fs, present = self._parsed_fields, self.partial_terms
            (s,) = judge(fs, present, [s.tokens], present_checks=self.check_partial())
        if not s.valid:
            row.refuse(s.status)
            self._error(f"suggestion {index + 1} not added ({s.status}): {s.reason}")
            return False
        row.set_decision("accepted")
        self.set_partial([*self.partial_terms, s.tokens])
        return True

    def reject(self, index: int) -> None:
        self.rows[index].set_decision("rejected")

    def accept_all(self) -> None:
        """Accept every valid, new suggestion not yet decided."""
        for r in self.rows:
            if r.acceptable and r.decision is None:
                self.accept(r.index)

    @property
    def decisions(self) -> list[str | None]:
        return [r.decision for r in self.rows]

    def _clear_suggestions(self) -> None:
        self.completion = None
        self.rows = []
        self.suggestion_box.children = []
        self.missing.value = ""

    def _render_missing(self) -> None:
        c = self.completion
        if c is None or not c.missing_after:
            self.missing.value = "" if c is None else "<i>The engine has no further terms.</i>"
            return
        items = "".join(f"<li>${e.latex}$ <small>({e.kind})</small></li>" for e in c.missing_after)
        self.missing.value = (
            f"<details><summary>Engine: {len(c.missing_after)} terms still missing</summary>"
            f"<ul>{items}</ul></details>"
        )

    # -- result ------------------------------------------------------------------------------
    def latex_lines(self) -> list[str]:
        """LaTeX of the current Lagrangian's terms (terms that do not parse are skipped)."""
        out = []
        for t in self.partial_terms:
            try:
                out.append(term_latex(self.fields, t))
            except LagnbError:
                continue
        return out

    def _render_lagrangian(self) -> None:
        try:
            lines = self.latex_lines()
        except LagnbError:
            lines = []
        if not lines:
            self.lagrangian.value = "<i>no terms yet</i>"
            return
        body = r" \\ & ".join(lines)
        self.lagrangian.value = (
            rf"$$\begin{{aligned}} \mathcal{{L}} \supset & {body} \end{{aligned}}$$"
        )

    def export_latex(self) -> str:
        """The current Lagrangian as LaTeX (also put into the export box)."""
        text = r"\mathcal{L} \supset " + " ".join(self.latex_lines()).removeprefix("+ ")
        self.export.value = text
        return text

    def export_tokens(self) -> str:
        """The current Lagrangian as BART-L tokens, with the field list (also in the box)."""
        text = f"{self.fields_tokens}\n{' '.join(self.partial_terms)}"
        self.export.value = text
        return text
