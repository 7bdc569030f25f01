"""A help page for every registered method: the built-in ones with their maths drawn by mathtext and
their views named as the views name them; a method registered at run time without one says so."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from otviz.help.formulas import render_formula  # noqa: E402
from otviz.help.pages import help_page  # noqa: E402
from otviz.lessons.catalogue import lesson_paths  # noqa: E402
from otviz.lessons.format import load_lesson  # noqa: E402
from otviz.methods import BUILT_IN, method_names, register, unregister  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def toy():
    """The toy method of tests/test_toy_method.py, registered for the test."""
    import test_toy_method as t
    from otviz.gui.views import register_view, unregister_view

    register(t.INFO)
    register_view(t.NAME, "test_toy_method:GaussView")
    yield t
    unregister(t.NAME)
    unregister_view(t.NAME)


@pytest.mark.parametrize("name", [i.name for i in BUILT_IN])
def test_built_in_page_has_drawn_formulas_and_names_its_views(qapp, name):
    from otviz.gui.views import view_class

    page = help_page(name)
    assert page.declared and page.title and len(page.about) > 200
    assert len(page.formulas) >= 3 and len(page.tries) >= 3
    for tex, text in page.formulas:
        png = render_formula(tex)
        assert png.startswith(PNG) and len(png) > 500 and text
    view = view_class(name)(BUILT_IN[[i.name for i in BUILT_IN].index(name)])
    plots = view.plots()
    assert {v for v, _ in page.views} <= set(plots), "help names a view the tab does not have"
    assert [p[0] for p in page.params] == [s.label or s.name for s in page_specs(name)]


def page_specs(name):
    from otviz.methods import method_info
    return method_info(name).specs()


def test_lesson_highlights_name_views_of_their_tab(qapp):
    from otviz.gui.views import view_class
    from otviz.methods import method_info

    for path in lesson_paths():
        lesson = load_lesson(path)
        plots = view_class(lesson.method)(method_info(lesson.method)).plots()
        for i, step in enumerate(lesson.steps):
            assert not step.highlight or step.highlight in plots, f"{lesson.name} step {i + 1}: {step.highlight}"


def test_a_bad_formula_is_refused_in_one_sentence():
    with pytest.raises(ValueError) as e:
        render_formula(r"$\frac{1}{$")
    assert str(e.value).startswith("cannot draw the formula") and "\n" not in str(e.value)


def test_every_registered_method_has_a_page_and_the_toy_says_it_declares_none(qapp, toy):
    assert toy.NAME in method_names()
    for name in method_names():
        assert help_page(name).title
    page = help_page(toy.NAME)
    assert not page.declared and page.formulas == () and page.views == ()
    assert "Gaussian fit declares no help page of its own" in page.about
    assert ("n_points", "10 … 5000 (⟲ restarts)", "Points drawn from the data's Gaussian") in page.params
    assert any(n == "lr" and "Gradient-descent step" in h for n, _, h in page.params)


def test_f1_shows_the_page_of_the_tab_on_screen(qtbot, open_window, toy):
    from otviz.gui.explain import show_help

    win = open_window("sinkhorn", toy.NAME)
    d = show_help(win)
    assert d.isVisible() and d.method == "sinkhorn" and d.formula_errors == []
    text = d.browser.toPlainText()
    assert "Sinkhorn's iterations" in text and "What to try" in text and "eps" in text
    html = d.browser.toHtml()
    assert html.count("<img") == len(help_page("sinkhorn").formulas)
    win.tabs.setCurrentIndex(1)                 # the page follows the tab
    assert d.method == toy.NAME and "declares no help page" in d.browser.toPlainText()
    d.close()
