"""SW-GMM's lesson buttons restart the fit from its initial state (same seed) with their directions."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("swgmm", size=(1400, 850))


def reference_means(steps: int, **config):
    """The means of a fresh run with these settings after `steps` steps, trained here."""
    from otviz.methods import method_class

    cls = method_class("swgmm")
    m = cls(cls.Config(**config), seed=0)
    for _ in range(steps):
        m.step()
    return m.snapshot(fields=False).means


def test_lesson_restarts_from_the_beginning_with_its_directions(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    view = tab.view
    conftest.wait_first_frame(qtbot, tab)
    for b in view.lesson_buttons:
        assert "restart" in b.toolTip().lower() and "same random seed" in b.toolTip()
    means0 = tab.last_frame["snap"].means.copy()
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 20, timeout=60_000)
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    assert tab.step >= 20 and not np.allclose(tab.last_frame["snap"].means, means0)
    # Lesson 1 on a fitted, paused run: back to step 0, the initial state of the same seed
    view.lesson_buttons[1].click()
    qtbot.waitUntil(lambda: tab.step == 0 and tab.config.fixed_directions == "x" and tab.config.directions == 0,
                    timeout=10_000)
    np.testing.assert_array_equal(tab.last_frame["snap"].means, means0)
    assert tab.panel.rows["fixed_directions"].value == "x" and tab.panel.rows["directions"].value == 0
    # the restart ran with the lesson's directions: three steps match a fresh run of the lesson
    for n in (1, 2, 3):
        tab.controls.step.click()
        conftest.wait_step(qtbot, tab, n, timeout=10_000)
    s = tab.last_frame["snap"]
    assert tab.step == 3
    assert s.directions.shape == (1, 2) and np.allclose(s.directions[0], [1, 0])
    np.testing.assert_allclose(s.means, reference_means(3, directions=0, fixed_directions="x"), rtol=1e-9)
    assert not np.allclose(s.means, reference_means(3))      # not what the random directions give
    # a fresh history: no mid-run change marked, steps from the start
    assert tab.history.events == [] and list(tab.history.steps) == [1, 2, 3]
    # Lesson 3 while playing (one step a frame, so that every step is seen): restarts too
    tab.controls.speed.setValue(1)
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 15, timeout=60_000)
    view.lesson_buttons[3].click()
    qtbot.waitUntil(lambda: tab.config.fixed_directions == "x,y,both diagonals" and tab.step < 15
                    and tab.history.events == [], timeout=10_000)
    qtbot.waitUntil(lambda: tab.last_frame["snap"].directions.shape == (4, 2), timeout=10_000)
